import type { MessageInfo } from '../../store/types.js';
import type { CommandOf } from '../parser.js';
import type { TransactionState } from '../state.js';
import type { Handler } from './context.js';
import { countOfMessages, messageIndex } from './messages.js';

const octetsOf = new WeakMap<readonly MessageInfo[], number>();

/**
 * The size of a whole maildrop, worked out once per message list: stores hand the same
 * list to every session of an unchanged maildrop, and a sum over 100,000 messages at each
 * login and STAT is measurable.
 */
export function maildropOctets(messages: readonly MessageInfo[]): number {
  let octets = octetsOf.get(messages);
  if (octets === undefined) {
    octets = 0;
    for (const m of messages) octets += m.size;
    octetsOf.set(messages, octets);
  }
  return octets;
}

/** Totals over messages not marked deleted (RFC 1939: STAT and LIST skip them). */
function totals(state: TransactionState): { count: number; octets: number } {
  const messages = state.maildrop.messages;
  let count = messages.length;
  let octets = maildropOctets(messages);
  for (const i of state.deleted) {
    count--;
    octets -= messages[i]?.size ?? 0;
  }
  return { count, octets };
}

export const stat: Handler<TransactionState, CommandOf<'STAT'>> = async (_command, state) => {
  const { count, octets } = totals(state);
  return { reply: `+OK ${count} ${octets}` };
};

/** One line per message not marked deleted, `n value`, for LIST and UIDL. */
function* undeleted(state: TransactionState, value: (m: MessageInfo) => string | number): Generator<string> {
  const messages = state.maildrop.messages;
  const deleted = state.deleted;
  const none = deleted.size === 0;
  for (let i = 0; i < messages.length; i++) {
    if (none || !deleted.has(i)) yield `${i + 1} ${value(messages[i] as MessageInfo)}`;
  }
}

export const list: Handler<TransactionState, CommandOf<'LIST'>> = async ({ msg }, state) => {
  if (msg !== undefined) {
    const i = messageIndex(state, msg);
    return { reply: `+OK ${i + 1} ${state.maildrop.messages[i]?.size}` };
  }
  const { count, octets } = totals(state);
  return { reply: { status: `+OK ${countOfMessages(count)} (${octets} octets)`, lines: undeleted(state, (m) => m.size) } };
};

export const uidl: Handler<TransactionState, CommandOf<'UIDL'>> = async ({ msg }, state) => {
  if (msg !== undefined) {
    const i = messageIndex(state, msg);
    return { reply: `+OK ${i + 1} ${state.maildrop.messages[i]?.uid}` };
  }
  return { reply: { status: '+OK Unique-ID listing follows', lines: undeleted(state, (m) => m.uid) } };
};
