import { badCommand } from '../errors.js';
import { parseCount } from '../parser.js';
import type { Handler } from './types.js';
import { expectArgs, messageIndex, transaction } from './message-arg.js';

export const retr: Handler = async (session, { args }) => {
  expectArgs(args, 1, 1);
  const i = messageIndex(session, args[0]);
  const state = transaction(session);
  const size = state.maildrop.messages[i]?.size ?? 0;
  await session.streamMessage(i, `+OK ${size} octets`);
  // Counted once sent: a RETR cut short by a dropped connection changes nothing anyway.
  state.retrieved.add(i);
  session.stats.retr++;
  session.stats.retrBytes += size;
};

export const top: Handler = async (session, { args }) => {
  expectArgs(args, 2, 2);
  const i = messageIndex(session, args[0]);
  const lines = parseCount(args[1]);
  if (lines === undefined) throw badCommand('Invalid line count');
  await session.streamMessage(i, '+OK Top of message follows', lines);
  session.stats.top++;
};
