import { MessageGoneError } from '../../store/errors.js';
import type { WireOptions } from '../../store/types.js';
import type { WireSource } from '../../message/wire-source.js';
import { badCommand, Pop3Error } from '../errors.js';
import type { CommandOf } from '../parser.js';
import type { TransactionState } from '../state.js';
import type { Handler } from './context.js';
import { octetsFor } from './listing.js';
import { messageIndex } from './messages.js';

export const retr: Handler<TransactionState, CommandOf<'RETR'>> = async ({ msg }, state, ctx) => {
  const i = messageIndex(state, msg);
  const size = octetsFor(state.maildrop.messages[i], state.options.utf8);
  return {
    reply: `+OK ${size} octets`,
    message: await openWire(state, i, state.options.utf8 ? {} : { ascii: true }),
    // Counted once sent: a RETR cut short by a dropped connection changes nothing anyway.
    after: async () => {
      state.retrieved.add(i);
      ctx.stats.retr++;
      ctx.stats.retrBytes += size;
      return {};
    },
  };
};

export const top: Handler<TransactionState, CommandOf<'TOP'>> = async ({ msg, lines }, state, ctx) => {
  const i = messageIndex(state, msg);
  if (lines === null) throw badCommand('Invalid line count');
  return {
    reply: '+OK Top of message follows',
    message: await openWire(state, i, state.options.utf8 ? { bodyLines: lines } : { bodyLines: lines, ascii: true }),
    after: async () => {
      ctx.stats.top++;
      return {};
    },
  };
};

async function openWire(state: TransactionState, index: number, options?: WireOptions): Promise<WireSource> {
  try {
    return await state.maildrop.openWire(index, options);
  } catch (err) {
    if (err instanceof MessageGoneError) throw new Pop3Error('Message was removed from the maildrop by another program', 'SYS/PERM');
    throw err;
  }
}
