import type { Handler } from './types.js';
import { expectArgs, messageIndex, transaction } from './message-arg.js';

/** Marks only; the message goes at QUIT (RFC 1939 section 5). */
export const dele: Handler = async (session, { args }) => {
  expectArgs(args, 1, 1);
  const i = messageIndex(session, args[0]);
  transaction(session).deleted.add(i);
  session.stats.dele++;
  await session.reply(`+OK Message ${i + 1} deleted`);
};

export const rset: Handler = async (session, { args }) => {
  expectArgs(args, 0, 0);
  const state = transaction(session);
  state.deleted.clear();
  const octets = state.maildrop.messages.reduce((sum, m) => sum + m.size, 0);
  await session.reply(`+OK maildrop has ${state.maildrop.messages.length} messages (${octets} octets)`);
};

export const noop: Handler = async (session, { args }) => {
  expectArgs(args, 0, 0);
  await session.reply('+OK');
};
