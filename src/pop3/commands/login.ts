import type { AuthFailureReason } from '../../auth/types.js';
import { MaildropLockedError, StoreError } from '../../store/errors.js';
import type { Maildrop } from '../../store/types.js';
import { Pop3Error } from '../errors.js';
import { maildropOctets } from './listing.js';
import type { Session } from '../session.js';

export function authorization(session: Session) {
  const state = session.state;
  if (state.name !== 'AUTHORIZATION') throw new Error(`handler called in ${state.name}`);
  return state;
}

/**
 * Refuses at once, without checking any password, when the address or the user has spent
 * its failure budget: guessing then gets no answers and costs us no hashing.
 */
export async function checkBudget(session: Session, user: string | undefined): Promise<void> {
  const remote = session.transport.remoteAddress;
  const spent = session.deps.failures?.blocked(remote, user);
  if (!spent) return;
  session.log.warn({ event: 'auth_blocked', user: user ?? null, remote, budget: spent }, 'login refused: too many failures');
  await session.sleep(session.policy.authFailureDelayMs);
  throw new Pop3Error('Too many failed logins; try again later', 'SYS/TEMP');
}

/** A failed login: counted, logged for fail2ban-style tools, delayed, then answered [AUTH]. */
export async function failLogin(session: Session, user: string | undefined, reason: AuthFailureReason | string, mechanism: string): Promise<void> {
  const state = authorization(session);
  state.authFailures++;
  session.stats.authFailures++;
  const remote = session.transport.remoteAddress;
  session.deps.failures?.record(remote, user);
  session.log.warn({ event: 'auth_failed', user: user ?? null, remote, mechanism, reason }, 'authentication failed');
  await session.sleep(session.policy.authFailureDelayMs);
  if (state.authFailures >= session.policy.maxAuthFailures) {
    await session.reply('-ERR [AUTH] Authentication failed; too many failures, closing connection');
    await session.close('too-many-errors');
    return;
  }
  throw new Pop3Error('Authentication failed', 'AUTH');
}

/** The user is authenticated: take the maildrop, apply LOGIN-DELAY, enter TRANSACTION. */
export async function enterTransaction(session: Session, user: string, mechanism: string): Promise<void> {
  if (session.deps.failures?.blocked(session.transport.remoteAddress, user) === 'user') {
    // The right password does not reopen an account under attack before its window ends.
    await checkBudget(session, user);
  }
  const now = session.now();
  const maildrop = await openMaildrop(session, user, now);
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
  session.state = { name: 'TRANSACTION', user, maildrop, deleted: new Set(), retrieved: new Set() };
  session.stats.user = user;
  session.log.info({ event: 'login', user, mechanism, tls: session.transport.tls?.protocol ?? null, messages: maildrop.messages.length }, 'login');
  const octets = maildropOctets(maildrop.messages);
  await session.reply(`+OK ${user}'s maildrop has ${maildrop.messages.length} messages (${octets} octets)`);
}

async function openMaildrop(session: Session, user: string, now: Date): Promise<Maildrop> {
  const expireDays = session.policy.expireDays;
  const lastLogin = session.policy.loginDelaySeconds > 0;
  try {
    return await session.deps.store.openMaildrop(user, expireDays === null ? { now, lastLogin } : { expireDays, now, lastLogin });
  } catch (err) {
    if (err instanceof MaildropLockedError) throw new Pop3Error('Maildrop is locked by another session', 'IN-USE');
    session.log.error({ err, event: 'maildrop_open_failed', user }, 'could not open maildrop');
    const temporary = !(err instanceof StoreError) || err.temporary;
    throw new Pop3Error(temporary ? 'Unable to open maildrop; try again later' : 'Unable to open maildrop', temporary ? 'SYS/TEMP' : 'SYS/PERM');
  }
}
