import { accountFailed, type AccountResult, type FetchEvent } from '../client/index.js';

export interface ProgressOutput {
  readonly onEvent: (event: FetchEvent) => void;
  /** Ends an account's progress display (the bar's line, if any). */
  readonly accountDone: (result: AccountResult) => void;
}

/** Plain lines, one per event that matters: for logs, cron mail and pipes. */
export function plainProgress(write: (line: string) => void, verbose: boolean): ProgressOutput {
  const say = (account: string, text: string): void => write(`postel fetch: ${account}: ${text}\n`);
  return {
    onEvent(e) {
      switch (e.type) {
        case 'connected':
          if (verbose) say(e.account, `connected to ${e.server}${e.secure ? ' (TLS)' : ' (no TLS)'}`);
          break;
        case 'listed':
          say(e.account, `${e.messages} on the server, ${e.toFetch} to fetch (${e.bytes} octets)${e.toDelete > 0 ? `, ${e.toDelete} to delete` : ''}`);
          break;
        case 'delivered':
          if (verbose) say(e.account, `delivered ${e.uid} (${e.size} octets${e.headersOnly ? ', headers only' : ''})`);
          break;
        case 'skipped':
          say(e.account, `skipped ${e.uid}: ${e.reason}`);
          break;
        case 'failed':
          say(e.account, `not delivered ${e.uid}: ${e.error.message}`);
          break;
        case 'deleted':
          say(e.account, `deleted ${e.count} on the server`);
          break;
        case 'warning':
          say(e.account, `warning: ${e.text}`);
          break;
        case 'message-start':
        case 'bytes':
          break;
      }
    },
    accountDone(result) {
      if (result.error) say(result.account, `error: ${result.error.message}`);
    },
  };
}

interface BarState {
  index: number;
  total: number;
  bytes: number;
  totalBytes: number;
}

/**
 * A one-line progress bar per account on a terminal (stderr): messages and bytes, redrawn
 * in place at most every 100 ms; skips, failures and warnings still get their own lines.
 */
export function ttyProgress(stream: NodeJS.WriteStream, now: () => number = Date.now): ProgressOutput {
  const bars = new Map<string, BarState>();
  let lastDraw = 0;
  const plain = plainProgress((line) => {
    stream.write(`\r\x1b[2K${line}`);
  }, false);
  const draw = (account: string, force: boolean): void => {
    const bar = bars.get(account);
    if (bar === undefined) return;
    if (!force && now() - lastDraw < 100) return;
    lastDraw = now();
    stream.write(`\r\x1b[2K${renderBar(account, bar.index, bar.total, bar.bytes, bar.totalBytes, stream.columns ?? 80)}`);
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'listed':
          bars.set(e.account, { index: 0, total: e.toFetch, bytes: 0, totalBytes: e.bytes });
          draw(e.account, true);
          return;
        case 'message-start': {
          const bar = bars.get(e.account);
          if (bar) bar.index = e.index - 1;
          draw(e.account, false);
          return;
        }
        case 'bytes': {
          const bar = bars.get(e.account);
          if (bar) bar.bytes += e.bytes;
          draw(e.account, false);
          return;
        }
        case 'delivered': {
          const bar = bars.get(e.account);
          if (bar) bar.index++;
          draw(e.account, false);
          return;
        }
        default:
          plain.onEvent(e);
          draw(e.account, true);
      }
    },
    accountDone(result) {
      draw(result.account, true);
      if (bars.has(result.account)) stream.write('\n');
      bars.delete(result.account);
      plain.accountDone(result);
    },
  };
}

/** "name [#####-----] 3/10 msgs  1.2/4.0 MiB", fitted to `width` columns. */
export function renderBar(account: string, done: number, total: number, bytes: number, totalBytes: number, width: number): string {
  const counts = ` ${done}/${total} msgs  ${formatBytes(bytes)}/${formatBytes(totalBytes)}`;
  const name = account.length > 30 ? `${account.slice(0, 29)}…` : account;
  const room = Math.max(10, Math.min(40, width - name.length - counts.length - 4));
  const fraction = totalBytes > 0 ? Math.min(1, bytes / totalBytes) : total > 0 ? done / total : 1;
  const filled = Math.round(fraction * room);
  return `${name} [${'#'.repeat(filled)}${'-'.repeat(room - filled)}]${counts}`;
}

/** Binary units, labelled as such (KiB, MiB, GiB): 1 MiB is 1,048,576 bytes, not 1 MB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)} GiB`;
}

/** The end-of-run table: new, skipped, deleted, failed per account, then any errors. */
export function renderSummary(results: readonly AccountResult[]): string {
  const header = ['account', 'new', 'skipped', 'deleted', 'failed', 'status'];
  const rows = results.map((r) => [r.account, String(r.delivered), String(r.skipped), String(r.deleted), String(r.failed), accountFailed(r) ? 'FAILED' : 'ok']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ').trimEnd();
  const errors = results.filter((r) => r.error).map((r) => `${r.account}: ${(r.error as Error).message}`);
  return [line(header), ...rows.map(line), ...errors].join('\n') + '\n';
}
