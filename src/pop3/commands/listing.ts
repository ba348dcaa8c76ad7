import type { MessageInfo } from '../../store/types.js';
import type { Handler } from './types.js';
import { expectArgs, messageIndex, transaction } from './message-arg.js';

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
function totals(session: Parameters<Handler>[0]): { count: number; octets: number } {
  const state = transaction(session);
  const messages = state.maildrop.messages;
  let count = messages.length;
  let octets = maildropOctets(messages);
  for (const i of state.deleted) {
    count--;
    octets -= messages[i]?.size ?? 0;
  }
  return { count, octets };
}

export const stat: Handler = async (session, { args }) => {
  expectArgs(args, 0, 0);
  const { count, octets } = totals(session);
  await session.reply(`+OK ${count} ${octets}`);
};

/** One line per message not marked deleted, `n value`, for LIST and UIDL. */
function* undeleted(session: Parameters<Handler>[0], value: (m: MessageInfo) => string | number): Generator<string> {
  const state = transaction(session);
  const messages = state.maildrop.messages;
  const deleted = state.deleted;
  const none = deleted.size === 0;
  for (let i = 0; i < messages.length; i++) {
    if (none || !deleted.has(i)) yield `${i + 1} ${value(messages[i] as MessageInfo)}`;
  }
}

export const list: Handler = async (session, { args }) => {
  expectArgs(args, 0, 1);
  const messages = transaction(session).maildrop.messages;
  if (args.length === 1) {
    const i = messageIndex(session, args[0]);
    await session.reply(`+OK ${i + 1} ${messages[i]?.size}`);
    return;
  }
  const { count, octets } = totals(session);
  await session.replyLines(`+OK ${count} messages (${octets} octets)`, undeleted(session, (m) => m.size));
};

export const uidl: Handler = async (session, { args }) => {
  expectArgs(args, 0, 1);
  const messages = transaction(session).maildrop.messages;
  if (args.length === 1) {
    const i = messageIndex(session, args[0]);
    await session.reply(`+OK ${i + 1} ${messages[i]?.uid}`);
    return;
  }
  await session.replyLines('+OK Unique-ID listing follows', undeleted(session, (m) => m.uid));
};
