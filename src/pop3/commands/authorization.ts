import type { AuthResult } from '../../auth/types.js';
import { MaildropLockedError, StoreError } from '../../store/errors.js';
import type { Maildrop } from '../../store/types.js';
import { badCommand, Pop3Error } from '../errors.js';
import type { Session } from '../session.js';
import type { Handler } from './types.js';
import { expectArgs } from './message-arg.js';

function authorization(session: Session) {
  const state = session.state;
  if (state.name !== 'AUTHORIZATION') throw new Error(`handler called in ${state.name}`);
  return state;
}

/** Always +OK: whether a mailbox exists is not told before the password (RFC 1939 section 7). */
export const user: Handler = async (session, { args }) => {
  expectArgs(args, 1, 1);
  authorization(session).user = args[0] ?? null;
  await session.reply('+OK Send your password');
};

export const pass: Handler = async (session, { rest }) => {
  const state = authorization(session);
  if (state.user === null) throw badCommand('Send USER first');
  if (rest === '') throw badCommand('Missing argument');
  const name = state.user;
  await login(session, name, () => session.deps.auth.verify(name, rest, session.authContext));
};

export const apop: Handler = async (session, { args }) => {
  expectArgs(args, 2, 2);
  const [name, digest] = args as [string, string];
  if (!/^[0-9a-fA-F]{32}$/.test(digest)) throw badCommand('Invalid digest');
  const timestamp = session.apopTimestamp as string;
  await login(session, name, () => session.deps.auth.verifyApop(name, timestamp, digest.toLowerCase(), session.authContext));
};

/** RFC 5034 AUTH: no SASL mechanism is enabled yet, so the list is empty. */
export const auth: Handler = async (session, { args }) => {
  if (args.length === 0) {
    await session.replyLines('+OK Supported mechanisms follow', []);
    return;
  }
  throw new Pop3Error('Unsupported authentication mechanism');
};

/** Checks credentials, then takes the maildrop: the shared end of PASS, APOP and AUTH. */
async function login(session: Session, name: string, check: () => Promise<AuthResult>): Promise<void> {
  const state = authorization(session);
  state.user = null;
  const result = await check();
  if (!result.ok) {
    state.authFailures++;
    session.stats.authFailures++;
    session.log.warn({ event: 'auth_failed', user: name, reason: result.reason }, 'authentication failed');
    await session.sleep(session.policy.authFailureDelayMs);
    if (state.authFailures >= session.policy.maxAuthFailures) {
      await session.reply('-ERR [AUTH] Authentication failed; too many failures, closing connection');
      await session.close('too-many-errors');
      return;
    }
    throw new Pop3Error('Authentication failed', 'AUTH');
  }
  const now = session.now();
  const maildrop = await openMaildrop(session, result.user, now);
  const delay = session.policy.loginDelaySeconds;
  if (delay > 0) {
    const last = maildrop.lastLoginAt;
    if (last !== null && now.getTime() - last.getTime() < delay * 1000) {
      await maildrop.release();
      throw new Pop3Error(`Minimum time between logins is ${delay} seconds`, 'LOGIN-DELAY');
    }
    await maildrop.recordLogin(now);
  }
  if (session.state.name !== 'AUTHORIZATION') {
    // The connection ended while the maildrop was being opened.
    await maildrop.release();
    return;
  }
  session.state = { name: 'TRANSACTION', user: result.user, maildrop, deleted: new Set(), retrieved: new Set() };
  session.stats.user = result.user;
  session.log.info({ event: 'login', user: result.user, messages: maildrop.messages.length }, 'login');
  const octets = maildrop.messages.reduce((sum, m) => sum + m.size, 0);
  await session.reply(`+OK ${result.user}'s maildrop has ${maildrop.messages.length} messages (${octets} octets)`);
}

async function openMaildrop(session: Session, user: string, now: Date): Promise<Maildrop> {
  const expireDays = session.policy.expireDays;
  try {
    return await session.deps.store.openMaildrop(user, expireDays === null ? { now } : { expireDays, now });
  } catch (err) {
    if (err instanceof MaildropLockedError) throw new Pop3Error('Maildrop is locked by another session', 'IN-USE');
    session.log.error({ err, event: 'maildrop_open_failed', user }, 'could not open maildrop');
    const temporary = !(err instanceof StoreError) || err.temporary;
    throw new Pop3Error(temporary ? 'Unable to open maildrop; try again later' : 'Unable to open maildrop', temporary ? 'SYS/TEMP' : 'SYS/PERM');
  }
}
