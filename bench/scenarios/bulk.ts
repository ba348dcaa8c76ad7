import type { RetrResult } from '../load/tasks.js';
import { withCpu } from '../measure.js';
import type { Scenario, ScenarioResult } from './types.js';

const RETR_TIMEOUT_MS = 120_000;

/**
 * bulk_retr: one client RETRs every message of a 2,000 x 50 KB maildrop in one session,
 * then eight clients do the same at once, each on a maildrop of its own.
 */
export const bulkRetr: Scenario = {
  name: 'bulk_retr',
  uses: ['bulk'],
  rounds: (settings) => settings.throughputRounds,
  async run(ctx): Promise<ScenarioResult> {
    const { load, server, world, settings } = ctx;
    const account = (i: number): { user: string; password: string } => {
      const u = world.bulk[i];
      if (!u) throw new Error(`no bulk user ${i}`);
      return { user: u.user, password: u.password };
    };
    // No warm-up: the first round is the first RETRs of a freshly started server (main.ts
    // reports it, and the later rounds as the steady state beside it).
    const [one] = (await load.retr(server.pop3, [account(0)], settings.bulkMessages, RETR_TIMEOUT_MS)) as [RetrResult];
    if (one.messages !== settings.bulkMessages) throw new Error(`one client got ${one.messages} of ${settings.bulkMessages} messages`);

    const { result: many, cpu } = await withCpu(server, () =>
      load.retr(server.pop3, world.bulk.map((_, i) => account(i)), settings.bulkMessages, RETR_TIMEOUT_MS),
    );
    const bytes = many.reduce((n, r) => n + r.bytes, 0);
    // Logins take a few ms of the wall time; the slowest client's own RETR time bounds it from below.
    const seconds = Math.max(...many.map((r) => r.ms)) / 1000;
    return {
      metrics: [
        { scenario: 'bulk_retr', metric: '1 client', unit: 'MB/s', value: one.bytes / 1e6 / (one.ms / 1000) },
        { scenario: 'bulk_retr', metric: `${world.bulk.length} clients`, unit: 'MB/s', value: bytes / 1e6 / seconds },
      ],
      cpu,
      details: { bytesOneClient: one.bytes, bytesAll: bytes, wallSecondsAll: cpu.wallSeconds },
    };
  },
};
