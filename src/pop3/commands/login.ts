import type { AuthFailureReason } from '../../auth/types.js';
import { MaildropLockedError, StoreError } from '../../store/errors.js';
import type { Maildrop } from '../../store/types.js';
import { Pop3Error } from '../errors.js';
import type { AuthorizationState } from '../state.js';
import type { HandlerContext, Step } from './context.js';
import { maildropOctets } from './listing.js';

/**
 * Runs a login attempt (PASS, APOP, AUTH) from the point where it starts: the USER name is
 * forgotten and any AUTH exchange ends whatever the outcome, a refusal included. `run` gets
 * that cleared state; a step without `next` enters it, and a Pop3Error becomes its answer.
 */
export async function attempt(state: AuthorizationState, run: (cleared: AuthorizationState) => Promise<Step>): Promise<Step> {
  const cleared: AuthorizationState = { ...state, user: null, sasl: null };
  try {
    const step = await run(cleared);
    return step.next ? step : { ...step, next: cleared };
  } catch (err) {
    if (err instanceof Pop3Error) return { reply: err, next: cleared };
    throw err;
  }
}

/**
 * Refuses at once, without checking any password, when the address or the user has spent
 * its failure budget: guessing then gets no answers and costs us no hashing.
 */
export async function checkBudget(ctx: HandlerContext, user: string | undefined): Promise<void> {
  const remote = ctx.peer.remoteAddress;
  const spent = ctx.failures?.blocked(remote, user);
  if (!spent) return;
  ctx.log.warn({ event: 'auth_blocked', user: user ?? null, remote, budget: spent }, 'login refused: too many failures');
  await ctx.sleep(ctx.policy.authFailureDelayMs);
  throw new Pop3Error('Too many failed logins; try again later', 'SYS/TEMP');
}

/** A failed login: counted, logged for fail2ban-style tools, delayed, then answered [AUTH]. */
export async function failLogin(
  state: AuthorizationState,
  ctx: HandlerContext,
  user: string | undefined,
  reason: AuthFailureReason | string,
  mechanism: string,
): Promise<Step> {
  const next: AuthorizationState = { ...state, authFailures: state.authFailures + 1 };
  ctx.stats.authFailures++;
  const remote = ctx.peer.remoteAddress;
  ctx.failures?.record(remote, user);
  ctx.log.warn({ event: 'auth_failed', user: user ?? null, remote, mechanism, reason }, 'authentication failed');
  await ctx.sleep(ctx.policy.authFailureDelayMs);
  if (next.authFailures >= ctx.policy.maxAuthFailures) {
    return { next, reply: '-ERR [AUTH] Authentication failed; too many failures, closing connection', end: 'too-many-errors' };
  }
  return { next, reply: new Pop3Error('Authentication failed', 'AUTH') };
}

/** The user is authenticated: take the maildrop, apply LOGIN-DELAY, enter TRANSACTION. */
export async function enterTransaction(ctx: HandlerContext, user: string, mechanism: string): Promise<Step> {
  if (ctx.failures?.blocked(ctx.peer.remoteAddress, user) === 'user') {
    // The right password does not reopen an account under attack before its window ends.
    await checkBudget(ctx, user);
  }
  const now = ctx.now();
  const maildrop = await openMaildrop(ctx, user, now);
  const delay = ctx.policy.loginDelaySeconds;
  if (delay > 0) {
    const last = maildrop.lastLoginAt;
    if (last !== null && now.getTime() - last.getTime() < delay * 1000) {
      await maildrop.release();
      throw new Pop3Error(`Minimum time between logins is ${delay} seconds`, 'LOGIN-DELAY');
    }
    await maildrop.recordLogin(now);
  }
  ctx.stats.user = user;
  ctx.log.info({ event: 'login', user, mechanism, tls: ctx.peer.tls?.protocol ?? null, messages: maildrop.messages.length }, 'login');
  const octets = maildropOctets(maildrop.messages);
  return {
    next: { name: 'TRANSACTION', user, maildrop, deleted: new Set(), retrieved: new Set() },
    reply: `+OK ${user}'s maildrop has ${maildrop.messages.length} messages (${octets} octets)`,
  };
}

async function openMaildrop(ctx: HandlerContext, user: string, now: Date): Promise<Maildrop> {
  const expireDays = ctx.policy.expireDays;
  const lastLogin = ctx.policy.loginDelaySeconds > 0;
  try {
    return await ctx.store.openMaildrop(user, expireDays === null ? { now, lastLogin } : { expireDays, now, lastLogin });
  } catch (err) {
    if (err instanceof MaildropLockedError) throw new Pop3Error('Maildrop is locked by another session', 'IN-USE');
    ctx.log.error({ err, event: 'maildrop_open_failed', user }, 'could not open maildrop');
    const temporary = !(err instanceof StoreError) || err.temporary;
    throw new Pop3Error(temporary ? 'Unable to open maildrop; try again later' : 'Unable to open maildrop', temporary ? 'SYS/TEMP' : 'SYS/PERM');
  }
}
