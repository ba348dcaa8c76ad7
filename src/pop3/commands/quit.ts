import type { CommandOf } from '../parser.js';
import type { AuthorizationState, TransactionState } from '../state.js';
import type { Handler } from './context.js';
import { countOfMessages } from './messages.js';

export const quitAuthorization: Handler<AuthorizationState, CommandOf<'QUIT'>> = async (_command, _state, ctx) => ({
  reply: `+OK ${ctx.policy.implementation} signing off`,
  end: 'quit',
});

/**
 * QUIT in TRANSACTION enters UPDATE: marked messages are removed, retrieved ones marked
 * seen, the lock released, and the client always gets an answer (RFC 1939 section 6). The
 * commit runs in UPDATE, so that a server shutdown meanwhile waits for it.
 */
export const quitTransaction: Handler<TransactionState, CommandOf<'QUIT'>> = async (_command, state, ctx) => ({
  next: { name: 'UPDATE', user: state.user },
  after: async () => {
    const deleted = new Set(state.deleted);
    // EXPIRE 0: retrieved messages are not kept, as if the client had deleted them.
    if (ctx.policy.expireDays === 0) for (const i of state.retrieved) deleted.add(i);
    try {
      await state.maildrop.commit({ deleted, retrieved: state.retrieved });
      ctx.stats.expunged = deleted.size;
      return { reply: `+OK ${ctx.policy.implementation} signing off (${countOfMessages(deleted.size)} deleted)`, end: 'quit' };
    } catch (err) {
      ctx.log.error({ err, event: 'commit_failed' }, 'commit failed');
      return { reply: '-ERR [SYS/TEMP] Some deleted messages could not be removed', end: 'quit' };
    }
  },
});
