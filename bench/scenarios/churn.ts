import type { Scheme } from '../fixtures.js';
import type { ChurnResult } from '../load/tasks.js';
import type { Endpoint } from '../load/pop3-conn.js';
import { percentile, withCpu } from '../measure.js';
import type { Scenario, ScenarioContext, ScenarioResult } from './types.js';

/**
 * login_churn and tls_churn: clients each loop connect / USER / PASS / STAT / QUIT with a
 * user of their own (a 10-message maildrop), for a fixed time split over the rounds, from
 * the first session of a freshly started server on (no warm-up: see main.ts).
 */
export function churnScenario(name: string, scheme: Scheme, tls: boolean, only?: 'postel'): Scenario {
  return {
    name,
    ...(only ? { only } : {}),
    rounds: (settings) => settings.rounds,
    async run(ctx: ScenarioContext): Promise<ScenarioResult> {
      const endpoint = tls ? ctx.server.pop3s : ctx.server.pop3;
      const users = ctx.world.churn[scheme];
      const seconds = ctx.settings.churnSeconds / ctx.rounds;
      const { result, cpu, serverCpuSeconds } = await withCpu(ctx.server.pid, () => churn(ctx, endpoint, users, seconds));
      const latencies = result.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
      const sessions = latencies.length;
      const errors = result.reduce((n, r) => n + r.errors, 0);
      const resumed = result.reduce((n, r) => n + r.resumed, 0);
      const firstError = result.find((r) => r.firstError)?.firstError ?? null;
      if (sessions === 0) throw new Error(`no session completed: ${firstError}`);
      const metrics = [
        { scenario: name, metric: 'sessions/s', unit: '/s', value: sessions / cpu.wallSeconds },
        { scenario: name, metric: 'p50 session', unit: 'ms', value: percentile(latencies, 50) },
        { scenario: name, metric: 'p99 session', unit: 'ms', value: percentile(latencies, 99) },
        { scenario: name, metric: 'server CPU per session', unit: 'ms', value: (1000 * serverCpuSeconds) / sessions },
      ];
      if (tls) metrics.push({ scenario: name, metric: 'TLS sessions resumed', unit: '%', value: (100 * resumed) / sessions });
      return { metrics, cpu, details: { sessions, errors, firstError, resumed } };
    },
  };
}

async function churn(ctx: ScenarioContext, endpoint: Endpoint, users: ScenarioContext['world']['churn'][Scheme], seconds: number): Promise<ChurnResult[]> {
  const threads = ctx.pool.size;
  return ctx.pool.all<ChurnResult>((i) => {
    const clients = users.filter((_, n) => n % threads === i).map((u) => ({ user: u.user, password: u.password }));
    return clients.length === 0
      ? null
      : { kind: 'churn', endpoint, clients, durationMs: seconds * 1000, maxSessions: Math.ceil(ctx.settings.churnMaxSessions / threads), resume: endpoint.tls };
  });
}
