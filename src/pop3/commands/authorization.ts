import { badCommand, Pop3Error } from '../errors.js';
import type { Session } from '../session.js';
import type { Handler } from './types.js';
import { expectArgs } from './message-arg.js';
import { authorization, checkBudget, enterTransaction, failLogin } from './login.js';

const PLAINTEXT_REFUSED = 'Plaintext authentication disallowed on non-secure connections';

/** Always +OK: whether a mailbox exists is not told before the password (RFC 1939 section 7). */
export const user: Handler = async (session, { args }) => {
  refuseInsecurePlaintext(session);
  expectArgs(args, 1, 1);
  authorization(session).user = args[0] ?? null;
  await session.reply('+OK Send your password');
};

export const pass: Handler = async (session, { rest }) => {
  refuseInsecurePlaintext(session);
  const state = authorization(session);
  if (state.user === null) throw badCommand('Send USER first');
  if (rest === '') throw badCommand('Missing argument');
  const name = state.user;
  state.user = null;
  await checkBudget(session, name);
  const result = await session.deps.auth.verify(name, rest, session.authContext);
  if (!result.ok) return failLogin(session, name, result.reason, 'USER');
  await enterTransaction(session, result.user, 'USER');
};

export const apop: Handler = async (session, { args }) => {
  expectArgs(args, 2, 2);
  const [name, digest] = args as [string, string];
  if (!/^[0-9a-fA-F]{32}$/.test(digest)) throw badCommand('Invalid digest');
  authorization(session).user = null;
  await checkBudget(session, name);
  const timestamp = session.apopTimestamp as string;
  const result = await session.deps.auth.verifyApop(name, timestamp, digest.toLowerCase(), session.authContext);
  if (!result.ok) return failLogin(session, name, result.reason, 'APOP');
  await enterTransaction(session, result.user, 'APOP');
};

/** RFC 2595 STLS: only before login, only once, only where TLS is configured. */
export const stls: Handler = async (session, { args }) => {
  expectArgs(args, 0, 0);
  if (session.transport.tls) throw new Pop3Error('TLS is already active');
  if (!session.transport.canStartTls) throw new Pop3Error('TLS is not available');
  await session.startTls();
};

function refuseInsecurePlaintext(session: Session): void {
  if (!session.plaintextAllowed) throw new Pop3Error(PLAINTEXT_REFUSED, 'AUTH');
}

export { PLAINTEXT_REFUSED };
