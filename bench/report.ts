import type { CpuShares, Metric } from './measure.js';
import type { ServerName } from './servers/common.js';

/** A target from the issue: on the ratio postel/Dovecot, or on postel's own figure. */
export type Target =
  | { readonly on: 'ratio'; readonly atLeast: number }
  | { readonly on: 'ratio'; readonly atMost: number }
  | { readonly on: 'postel'; readonly atMost: number }
  | { readonly on: 'postel'; readonly atLeast: number };

/** Keyed by scenario and metric; a metric of the first round on a freshly started server (issue 14). */
const TARGETS: Record<string, Target> = {
  'login_churn sessions/s': { on: 'ratio', atLeast: 8 },
  'login_churn/sha512-crypt sessions/s': { on: 'ratio', atLeast: 5 },
  'tls_churn sessions/s': { on: 'ratio', atLeast: 4 },
  'bulk_retr 1 client': { on: 'ratio', atLeast: 1.5 },
  'bulk_retr 8 clients': { on: 'ratio', atLeast: 1.2 },
  'big_maildrop cold login+STAT': { on: 'ratio', atMost: 1.0 },
  'big_maildrop second session login+STAT': { on: 'ratio', atMost: 0.5 },
  'big_maildrop warm login+STAT': { on: 'ratio', atMost: 0.5 },
  'big_maildrop cold UIDL': { on: 'ratio', atMost: 1.0 },
  'big_maildrop cold LIST': { on: 'ratio', atMost: 1.0 },
  'big_maildrop warm UIDL': { on: 'ratio', atMost: 1.0 },
  'big_maildrop warm LIST': { on: 'ratio', atMost: 1.0 },
  'large_message RETR': { on: 'ratio', atLeast: 1.2 },
  'large_message peak extra memory': { on: 'postel', atMost: 16 },
  'idle_conns memory per session': { on: 'ratio', atMost: 1 / 20 },
  'idle_conns new session max': { on: 'postel', atMost: 50 },
};

/**
 * With `--store postgres` (issue 11): every mail operation is a database round trip, so the
 * targets are those the PostgreSQL issue set, not the Maildir ones.
 */
const POSTGRES_TARGETS: Record<string, Target> = {
  'login_churn sessions/s': { on: 'ratio', atLeast: 3 },
  'bulk_retr 1 client': { on: 'ratio', atLeast: 1 },
  'bulk_retr 8 clients': { on: 'ratio', atLeast: 1 },
  'big_maildrop warm login+STAT': { on: 'ratio', atMost: 1 },
  'big_maildrop warm UIDL': { on: 'ratio', atMost: 1 },
  'big_maildrop warm LIST': { on: 'ratio', atMost: 1 },
  'large_message peak extra memory': { on: 'postel', atMost: 16 },
  'smtp_intake messages/s': { on: 'postel', atLeast: 500 },
};

/** Everything one server produced for one scenario. */
export interface ScenarioRun {
  readonly scenario: string;
  readonly server: ServerName;
  readonly metrics: readonly Metric[];
  readonly cpu?: CpuShares;
  readonly details?: Record<string, unknown>;
  /** Set when the scenario did not run for this server, with why. */
  readonly skipped?: string;
  readonly error?: string;
}

export interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  readonly postel: number | null;
  readonly dovecot: number | null;
  readonly ratio: number | null;
  readonly target: string;
  /** null when there is no target or a figure is missing. */
  readonly met: boolean | null;
  readonly note: string;
}

export function rows(runs: readonly ScenarioRun[], store: 'maildir' | 'postgres' = 'maildir'): Row[] {
  const targets = store === 'postgres' ? POSTGRES_TARGETS : TARGETS;
  const out: Row[] = [];
  const scenarios = [...new Set(runs.map((r) => r.scenario))];
  for (const scenario of scenarios) {
    const of = (server: ServerName): ScenarioRun | undefined => runs.find((r) => r.scenario === scenario && r.server === server);
    const p = of('postel');
    const d = of('dovecot');
    const names = [...new Set([...(p?.metrics ?? []), ...(d?.metrics ?? [])].map((m) => m.metric))];
    if (names.length === 0) {
      out.push({ scenario, metric: '-', unit: '', postel: null, dovecot: null, ratio: null, target: '', met: null, note: [p?.skipped ?? p?.error, d?.skipped ?? d?.error].filter(Boolean).join('; ') });
      continue;
    }
    for (const metric of names) {
      const pm = p?.metrics.find((m) => m.metric === metric);
      const dm = d?.metrics.find((m) => m.metric === metric);
      const postel = pm?.value ?? null;
      const dovecot = dm?.value ?? null;
      const ratio = postel !== null && dovecot !== null && dovecot !== 0 ? postel / dovecot : null;
      const target = targets[`${scenario} ${metric}`];
      const note = [pm?.note, dm?.note, d === undefined ? '' : (d.skipped ?? d.error ?? '')].filter((s) => s).join('; ');
      out.push({ scenario, metric, unit: (pm ?? dm)?.unit ?? '', postel, dovecot, ratio, target: describe(target), met: judge(target, postel, ratio), note });
    }
  }
  return out;
}

function describe(t: Target | undefined): string {
  if (!t) return '';
  const x = 'atLeast' in t ? `>= ${fmt(t.atLeast)}` : `<= ${fmt(t.atMost)}`;
  return t.on === 'ratio' ? `${x}x` : `${x} (postel)`;
}

function judge(t: Target | undefined, postel: number | null, ratio: number | null): boolean | null {
  if (!t) return null;
  const v = t.on === 'ratio' ? ratio : postel;
  if (v === null) return null;
  return 'atLeast' in t ? v >= t.atLeast : v <= t.atMost;
}

/** Three significant digits, without exponent notation. */
export function fmt(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '-';
  const abs = Math.abs(v);
  if (abs >= 100) return Math.round(v).toString();
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  if (abs === 0) return '0';
  return v.toPrecision(2);
}

/** A Markdown table, aligned so it also reads well in a terminal. */
export function table(all: readonly Row[], runs: readonly ScenarioRun[]): string {
  const cpuOf = (scenario: string, server: ServerName): string => {
    const c = runs.find((r) => r.scenario === scenario && r.server === server)?.cpu;
    if (!c) return '';
    const shares = `${Math.round(c.server)}/${Math.round(c.loadgen)}/${Math.round(c.other)}${c.steal === undefined ? '' : `/${Math.round(c.steal)}`}`;
    return c.database === undefined ? shares : `${shares} + db ${Math.round(c.database)}`;
  };
  const header = ['scenario', 'metric', 'postel', 'Dovecot', 'postel/Dovecot', 'target', 'met', 'CPU % postel', 'CPU % Dovecot'];
  const body = all.map((r, i) => {
    const first = i === 0 || all[i - 1]?.scenario !== r.scenario;
    return [
      first ? r.scenario : '',
      `${r.metric}${r.unit && !r.metric.endsWith(r.unit) ? ` (${r.unit})` : ''}`,
      fmt(r.postel),
      r.dovecot === null ? (r.note ? r.note : '-') : fmt(r.dovecot),
      r.ratio === null ? '' : `${fmt(r.ratio)}x`,
      r.target,
      r.met === null ? '' : r.met ? 'yes' : 'NO',
      first ? cpuOf(r.scenario, 'postel') : '',
      first ? cpuOf(r.scenario, 'dovecot') : '',
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((b) => (b[c] ?? '').length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((s, c) => s.padEnd(widths[c] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}
