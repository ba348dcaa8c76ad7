import type { CommandOf } from '../parser.js';
import type { TransactionState } from '../state.js';
import type { Handler } from './context.js';
import { maildropOctets } from './listing.js';
import { countOfMessages, messageIndex } from './messages.js';

/** Marks only; the message goes at QUIT (RFC 1939 section 5). */
export const dele: Handler<TransactionState, CommandOf<'DELE'>> = async ({ msg }, state, ctx) => {
  const i = messageIndex(state, msg);
  state.deleted.add(i);
  ctx.stats.dele++;
  return { reply: `+OK Message ${i + 1} deleted` };
};

export const rset: Handler<TransactionState, CommandOf<'RSET'>> = async (_command, state) => {
  state.deleted.clear();
  const messages = state.maildrop.messages;
  return { reply: `+OK maildrop has ${countOfMessages(messages.length)} (${maildropOctets(messages, state.options.utf8)} octets)` };
};

export const noop: Handler<TransactionState, CommandOf<'NOOP'>> = async () => ({ reply: '+OK' });
