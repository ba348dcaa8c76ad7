import type { LoginAttempt, LoginOutcome } from '../../auth/policy.js';
import type { AuthFailureReason } from '../../auth/types.js';
import { MaildropLockedError, StoreError } from '../../store/errors.js';
import type { Maildrop } from '../../store/types.js';
import { Pop3Error } from '../errors.js';
import type { AuthorizationState } from '../state.js';
import type { HandlerContext, Step } from './context.js';
import { maildropOctets } from './listing.js';
import { countOfMessages } from './messages.js';

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

/** Starts a login attempt under the shared AuthPolicy; its clock runs from here. */
export function beginLogin(ctx: HandlerContext): LoginAttempt {
  return ctx.authPolicy.begin({ protocol: 'pop3', remoteAddress: ctx.peer.remoteAddress, secure: ctx.peer.secure });
}

/**
 * Ends an attempt the way the AuthPolicy says, once it says the answer may go out: the
 * maildrop for a success, `[AUTH]` for a failure, `[SYS/TEMP]` for a blocked address.
 */
export async function finishLogin(state: AuthorizationState, ctx: HandlerContext, attempt: LoginAttempt, outcome: LoginOutcome, mechanism: string): Promise<Step> {
  const verdict = await attempt.finish(outcome);
  const result = verdict.kind === 'ok' ? 'success' : verdict.kind === 'failed' ? 'failure' : 'blocked';
  ctx.observer?.login({ mechanism, result, user: verdict.kind === 'ok' ? verdict.user : (outcome.user ?? null), remote: ctx.peer.remoteAddress });
  switch (verdict.kind) {
    case 'ok':
      return enterTransaction(ctx, state, verdict.user, mechanism);
    case 'blocked':
      ctx.log.warn({ event: 'auth_blocked', user: outcome.user ?? null, mechanism }, 'login refused: address blocked after too many failures');
      throw new Pop3Error('Too many failed logins; try again later', 'SYS/TEMP');
    case 'failed':
      return failLogin(state, ctx, outcome.user, verdict.reason, mechanism);
  }
}

/** A failed login, already counted and delayed by the policy: logged for fail2ban-style tools, answered [AUTH]. */
function failLogin(state: AuthorizationState, ctx: HandlerContext, user: string | undefined, reason: AuthFailureReason | string, mechanism: string): Step {
  const next: AuthorizationState = { ...state, authFailures: state.authFailures + 1 };
  ctx.stats.authFailures++;
  ctx.log.warn({ event: 'auth_failed', user: user ?? null, mechanism, reason }, 'authentication failed');
  if (next.authFailures >= ctx.policy.maxAuthFailures) {
    return { next, reply: '-ERR [AUTH] Authentication failed; too many failures, closing connection', end: 'too-many-errors' };
  }
  return { next, reply: new Pop3Error('Authentication failed', 'AUTH') };
}

/** The user is authenticated: take the maildrop, apply LOGIN-DELAY, enter TRANSACTION. */
async function enterTransaction(ctx: HandlerContext, from: AuthorizationState, user: string, mechanism: string): Promise<Step> {
  const now = ctx.now();
  const maildrop = await openMaildrop(ctx, user, now);
  const delay = ctx.policy.loginDelaySeconds;
  if (delay > 0) {
    const last = maildrop.lastLoginAt;
    if (last !== null && now.getTime() - last.getTime() < delay * 1000) {
      await maildrop.release();
      throw new Pop3Error(`Minimum time between logins is ${delay} seconds`, 'LOGIN-DELAY');
    }
  }
  // Every login is remembered: LOGIN-DELAY reads it, and the console shows it. Without
  // LOGIN-DELAY a time lost in a crash harms nothing, so it is not fsynced (two fsyncs per
  // login would cost a login-heavy server dearly).
  await maildrop.recordLogin(now, { durable: delay > 0 });
  ctx.stats.user = user;
  ctx.log.info({ event: 'login', user, mechanism, tls: ctx.peer.tls?.protocol ?? null, messages: maildrop.messages.length }, 'login');
  const octets = maildropOctets(maildrop.messages, from.options.utf8);
  return {
    next: { name: 'TRANSACTION', options: from.options, user, maildrop, deleted: new Set(), retrieved: new Set() },
    reply: `+OK ${user}'s maildrop has ${countOfMessages(maildrop.messages.length)} (${octets} octets)`,
  };
}

async function openMaildrop(ctx: HandlerContext, user: string, now: Date): Promise<Maildrop> {
  const expireDays = ctx.policy.expireDays;
  const lastLogin = ctx.policy.loginDelaySeconds > 0;
  try {
    return await ctx.store.openMaildrop(user, expireDays === null ? { now, lastLogin } : { expireDays, now, lastLogin });
  } catch (err) {
    if (err instanceof MaildropLockedError) ctx.observer?.lockConflict(user);
    if (err instanceof MaildropLockedError) throw new Pop3Error('Maildrop is locked by another session', 'IN-USE');
    ctx.log.error({ err, event: 'maildrop_open_failed', user }, 'could not open maildrop');
    const temporary = !(err instanceof StoreError) || err.temporary;
    throw new Pop3Error(temporary ? 'Unable to open maildrop; try again later' : 'Unable to open maildrop', temporary ? 'SYS/TEMP' : 'SYS/PERM');
  }
}
