import type { IdleOpenResult, ProbeResult } from '../load/tasks.js';
import { percentile, sleep } from '../measure.js';
import { processTree, treePssBytes } from '../proc.js';
import type { Scenario, ScenarioResult } from './types.js';

const OPEN_TIMEOUT_MS = 240_000;
const OPEN_CONCURRENCY = 32;
/** Sessions are opened in this many steps, with memory read after each. */
const STEPS = 4;

/**
 * idle_conns: N sessions log in (USER, PASS, STAT) and stay. Memory per session is the
 * slope of the server tree's PSS over the number of sessions held, fitted over the steps:
 * a garbage collection or a heap growing in chunks shifts one reading, not the slope, as it
 * would a plain (after - before) / N. While all are held, new sessions are timed from
 * connect to the QUIT answer.
 */
export const idleConns: Scenario = {
  name: 'idle_conns',
  uses: ['idle'],
  async run(ctx): Promise<ScenarioResult> {
    const { pool, server, world, settings } = ctx;
    const threads = pool.size;
    const points: { sessions: number; pss: number }[] = [];
    let held = 0;
    let errors = 0;
    let firstError: string | null = null;
    let openMs = 0;
    try {
      await sleep(settings.settleMs);
      points.push({ sessions: 0, pss: treePssBytes(server.pid) });
      for (let step = 0; step < STEPS; step++) {
        const from = Math.floor((world.idle.length * step) / STEPS);
        const to = Math.floor((world.idle.length * (step + 1)) / STEPS);
        const batch = world.idle.slice(from, to);
        const opened = await pool.all<IdleOpenResult>((i) => ({
          kind: 'idle-open',
          endpoint: server.pop3,
          clients: batch.filter((_, n) => n % threads === i).map((u) => ({ user: u.user, password: u.password })),
          concurrency: OPEN_CONCURRENCY / threads,
          timeoutMs: OPEN_TIMEOUT_MS,
        }));
        held += opened.reduce((n, r) => n + r.opened, 0);
        errors += opened.reduce((n, r) => n + r.errors, 0);
        firstError ??= opened.find((r) => r.firstError)?.firstError ?? null;
        openMs += Math.max(...opened.map((r) => r.ms));
        await sleep(settings.settleMs);
        points.push({ sessions: held, pss: treePssBytes(server.pid) });
      }
      ctx.progress(`${server.name}: ${held} sessions held (${errors} failed), timing new sessions`);
      const processes = processTree(server.pid).length;
      const probe = await pool.run<ProbeResult>(0, {
        kind: 'idle-probe',
        endpoint: server.pop3,
        account: { user: world.probe.user, password: world.probe.password },
        samples: settings.idleProbes,
      });
      const sessionMs = [...probe.sessionMs].sort((a, b) => a - b);
      const greetingMs = [...probe.greetingMs].sort((a, b) => a - b);
      const measured = points.slice(1);
      return {
        metrics: [
          { scenario: 'idle_conns', metric: 'sessions held', unit: '', value: held },
          { scenario: 'idle_conns', metric: 'memory per session', unit: 'KB', value: measured.length >= 2 ? slope(measured) / 1024 : null },
          { scenario: 'idle_conns', metric: 'new session p50', unit: 'ms', value: percentile(sessionMs, 50) },
          { scenario: 'idle_conns', metric: 'new session max', unit: 'ms', value: sessionMs.at(-1) ?? null },
        ],
        details: {
          requested: world.idle.length,
          errors,
          firstError,
          openSeconds: openMs / 1000,
          pss: points,
          perSessionOverall: held > 0 ? ((points.at(-1)?.pss ?? 0) - (points[0]?.pss ?? 0)) / held / 1024 : null,
          processes,
          greetingP50Ms: percentile(greetingMs, 50),
          probeErrors: probe.errors,
          probeFirstError: probe.firstError,
        },
      };
    } finally {
      await pool.all(() => ({ kind: 'idle-close' }));
      // Dovecot's processes take a moment to exit; the next scenario should not pay for it.
      await sleep(settings.settleMs);
    }
  },
};

/** Least-squares slope of PSS over sessions, in bytes per session. */
function slope(points: readonly { sessions: number; pss: number }[]): number {
  const n = points.length;
  const mx = points.reduce((a, p) => a + p.sessions, 0) / n;
  const my = points.reduce((a, p) => a + p.pss, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.sessions - mx) * (p.pss - my);
    den += (p.sessions - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
