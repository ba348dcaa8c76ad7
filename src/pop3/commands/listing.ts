import type { MessageInfo } from '../../store/types.js';
import type { CommandOf } from '../parser.js';
import type { TransactionState } from '../state.js';
import type { Handler } from './context.js';
import { countOfMessages, messageIndex } from './messages.js';

const octetsOf = new WeakMap<readonly MessageInfo[], number>();
const asciiOctetsOf = new WeakMap<readonly MessageInfo[], number>();

/**
 * What LIST, STAT and RETR count for a message: its size, or for a client that did not send
 * UTF8 the size of the ASCII form it gets (RFC 6856; MessageInfo.asciiSize).
 */
export function octetsFor(m: MessageInfo | undefined, utf8: boolean): number {
  if (m === undefined) return 0;
  return utf8 ? m.size : (m.asciiSize ?? m.size);
}

/**
 * The size of a whole maildrop, worked out once per message list: stores hand the same
 * list to every session of an unchanged maildrop, and a sum over 100,000 messages at each
 * login and STAT is measurable.
 */
export function maildropOctets(messages: readonly MessageInfo[], utf8: boolean): number {
  const cache = utf8 ? octetsOf : asciiOctetsOf;
  let octets = cache.get(messages);
  if (octets === undefined) {
    octets = 0;
    for (const m of messages) octets += octetsFor(m, utf8);
    cache.set(messages, octets);
  }
  return octets;
}

/** Totals over messages not marked deleted (RFC 1939: STAT and LIST skip them). */
function totals(state: TransactionState): { count: number; octets: number } {
  const messages = state.maildrop.messages;
  let count = messages.length;
  const utf8 = state.options.utf8;
  let octets = maildropOctets(messages, utf8);
  for (const i of state.deleted) {
    count--;
    octets -= octetsFor(messages[i], utf8);
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
    return { reply: `+OK ${i + 1} ${octetsFor(state.maildrop.messages[i], state.options.utf8)}` };
  }
  const { count, octets } = totals(state);
  return { reply: { status: `+OK ${countOfMessages(count)} (${octets} octets)`, lines: undeleted(state, (m) => octetsFor(m, state.options.utf8)) } };
};

export const uidl: Handler<TransactionState, CommandOf<'UIDL'>> = async ({ msg }, state) => {
  if (msg !== undefined) {
    const i = messageIndex(state, msg);
    return { reply: `+OK ${i + 1} ${state.maildrop.messages[i]?.uid}` };
  }
  return { reply: { status: '+OK Unique-ID listing follows', lines: undeleted(state, (m) => m.uid) } };
};
