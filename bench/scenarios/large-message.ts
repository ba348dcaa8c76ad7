import type { RetrResult } from '../load/tasks.js';
import { sleep, withCpu, withPeakPss } from '../measure.js';
import { treePssBytes } from '../proc.js';
import type { Scenario, ScenarioResult } from './types.js';

/**
 * large_message: RETR of one 200 MB message. Memory is the server tree's PSS, sampled every
 * 10 ms during the session, minus what it was just before: for Dovecot that includes the
 * session's own process, as a new session costs it that.
 */
export const largeMessage: Scenario = {
  name: 'large_message',
  uses: ['large'],
  rounds: (settings) => settings.throughputRounds,
  async run(ctx): Promise<ScenarioResult> {
    const account = { user: ctx.world.large.user, password: ctx.world.large.password };
    const endpoint = ctx.server.pop3;
    // Warm-up, unmeasured: the maildrop is indexed and the message sent a few times, so what
    // is measured is a RETR in the steady state. The first large RETR a postel process serves
    // grows it once, by some tens of MB that later ones reuse; with several workers each
    // must have served one, and the kernel picks the worker, so there are several sessions.
    if (ctx.round === 0) {
      for (let i = 0; i < ctx.settings.largeWarmups; i++) await ctx.load.retr(endpoint, [account], 1, 120_000);
    }
    await sleep(500);
    const before = treePssBytes(ctx.server.pid);
    const { result, peakBytes } = await withPeakPss(ctx.server.pid, 10, () =>
      withCpu(ctx.server, () => ctx.load.retr(endpoint, [account], 1, 120_000)),
    );
    const retr = result.result[0] as RetrResult;
    if (retr.messages !== 1) throw new Error('the large message was not retrieved');
    return {
      metrics: [
        { scenario: 'large_message', metric: 'RETR', unit: 'MB/s', value: retr.bytes / 1e6 / (retr.ms / 1000) },
        { scenario: 'large_message', metric: 'peak extra memory', unit: 'MB', value: (peakBytes - before) / 1e6 },
      ],
      cpu: result.cpu,
      details: { bytes: retr.bytes, pssBeforeBytes: before, pssPeakBytes: peakBytes },
    };
  },
};
