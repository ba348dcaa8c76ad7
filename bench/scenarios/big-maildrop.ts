import { sleep } from '../measure.js';
import type { ListingResult } from '../load/tasks.js';
import type { Metric } from '../measure.js';
import type { Scenario, ScenarioResult } from './types.js';

/** The second session starts this long after the first ended. */
const SECOND_SESSION_AFTER_MS = 3000;
/** Sessions after the second; each warm figure is their median. */
const WARM_SESSIONS = 3;

/**
 * big_maildrop: a maildrop of 100,000 small messages that no server has seen (cold: nothing
 * indexed), again 3 s later (the second session), then three more times (warm). Timed: PASS to the STAT answer (opening the
 * maildrop is the work), and UIDL and LIST, each to the last byte of the listing.
 */
export const bigMaildrop: Scenario = {
  name: 'big_maildrop',
  uses: ['big'],
  async run(ctx): Promise<ScenarioResult> {
    const account = { user: ctx.world.big.user, password: ctx.world.big.password };
    const expected = ctx.settings.bigMessages;
    const session = async (): Promise<ListingResult> => {
      const r = await ctx.load.listing(ctx.server.pop3, account);
      if (!r.statLine.startsWith(`+OK ${expected} `)) throw new Error(`STAT said "${r.statLine}", expected ${expected} messages`);
      return r;
    };
    const cold = await session();
    // A mail client polling again soon after: the second session 3 s after the first.
    await sleep(SECOND_SESSION_AFTER_MS);
    const second = await session();
    const warm: ListingResult[] = [];
    for (let i = 0; i < WARM_SESSIONS; i++) warm.push(await session());
    // The median of the warm sessions: with several postel workers, the first session that
    // lands on a worker which has not seen the maildrop yet reads its index from disk.
    const mid = (f: (r: ListingResult) => number): number => [...warm.map(f)].sort((a, b) => a - b)[WARM_SESSIONS >> 1] as number;
    const metrics: Metric[] = [
      { scenario: 'big_maildrop', metric: 'cold login+STAT', unit: 'ms', value: cold.loginMs + cold.statMs },
      { scenario: 'big_maildrop', metric: 'cold UIDL', unit: 'ms', value: cold.uidlMs },
      { scenario: 'big_maildrop', metric: 'cold LIST', unit: 'ms', value: cold.listMs },
      { scenario: 'big_maildrop', metric: 'second session login+STAT', unit: 'ms', value: second.loginMs + second.statMs },
      { scenario: 'big_maildrop', metric: 'warm login+STAT', unit: 'ms', value: mid((r) => r.loginMs + r.statMs) },
      { scenario: 'big_maildrop', metric: 'warm UIDL', unit: 'ms', value: mid((r) => r.uidlMs) },
      { scenario: 'big_maildrop', metric: 'warm LIST', unit: 'ms', value: mid((r) => r.listMs) },
    ];
    return { metrics, details: { cold, second, warm } };
  },
};
