import type { Handler } from './types.js';
import { expectArgs, messageIndex, transaction } from './message-arg.js';

/** Totals over messages not marked deleted (RFC 1939: STAT and LIST skip them). */
function totals(session: Parameters<Handler>[0]): { count: number; octets: number } {
  const state = transaction(session);
  let count = 0;
  let octets = 0;
  state.maildrop.messages.forEach((m, i) => {
    if (!state.deleted.has(i)) {
      count++;
      octets += m.size;
    }
  });
  return { count, octets };
}

export const stat: Handler = async (session, { args }) => {
  expectArgs(args, 0, 0);
  const { count, octets } = totals(session);
  await session.reply(`+OK ${count} ${octets}`);
};

function* undeleted<T>(session: Parameters<Handler>[0], line: (n: number, i: number) => T): Generator<T> {
  const state = transaction(session);
  const messages = state.maildrop.messages;
  for (let i = 0; i < messages.length; i++) if (!state.deleted.has(i)) yield line(i + 1, i);
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
  await session.replyLines(`+OK ${count} messages (${octets} octets)`, undeleted(session, (n, i) => `${n} ${messages[i]?.size}`));
};

export const uidl: Handler = async (session, { args }) => {
  expectArgs(args, 0, 1);
  const messages = transaction(session).maildrop.messages;
  if (args.length === 1) {
    const i = messageIndex(session, args[0]);
    await session.reply(`+OK ${i + 1} ${messages[i]?.uid}`);
    return;
  }
  await session.replyLines('+OK Unique-ID listing follows', undeleted(session, (n, i) => `${n} ${messages[i]?.uid}`));
};
