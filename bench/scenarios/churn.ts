import type { Scheme } from '../fixtures.js';
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
    uses: ['churn'],
    ...(only ? { only } : {}),
    rounds: (settings) => settings.rounds,
    async run(ctx: ScenarioContext): Promise<ScenarioResult> {
      const endpoint = tls ? ctx.server.pop3s : ctx.server.pop3;
      const users = ctx.world.churn[scheme];
      const seconds = ctx.settings.churnSeconds / ctx.rounds;
      const clients = users.map((u) => ({ user: u.user, password: u.password }));
      const { result, cpu, serverCpuSeconds } = await withCpu(ctx.server, () => ctx.load.churn(endpoint, clients, seconds * 1000, ctx.settings.churnMaxSessions));
      const latencies = [...result.latenciesMs].sort((a, b) => a - b);
      const sessions = latencies.length;
      const { errors, resumed, firstError } = result;
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
