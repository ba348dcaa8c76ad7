import { badCommand, Pop3Error } from '../errors.js';
import type { CommandOf } from '../parser.js';
import type { AuthorizationState } from '../state.js';
import { authContext, plaintextAllowed, type Handler, type HandlerContext } from './context.js';
import { attempt, beginLogin, finishLogin } from './login.js';

export const PLAINTEXT_REFUSED = 'Plaintext authentication disallowed on non-secure connections';

/**
 * USER and PASS are refused on a connection where passwords may not travel before their
 * arguments are looked at (the command table runs this first).
 */
export function refuseInsecurePlaintext(ctx: HandlerContext): Pop3Error | null {
  return plaintextAllowed(ctx) ? null : new Pop3Error(PLAINTEXT_REFUSED, 'AUTH');
}

/** Always +OK: whether a mailbox exists is not told before the password (RFC 1939 section 7). */
export const user: Handler<AuthorizationState, CommandOf<'USER'>> = async ({ name }, state) => ({
  next: { ...state, user: name },
  reply: '+OK Send your password',
});

export const pass: Handler<AuthorizationState, CommandOf<'PASS'>> = async ({ password }, state, ctx) => {
  const name = state.user;
  if (name === null) throw badCommand('Send USER first');
  if (password === '') throw badCommand('Missing argument');
  return attempt(state, async (cleared) => {
    const login = beginLogin(ctx);
    const result = login.blocked ? undefined : await ctx.auth.verify(name, password, authContext(ctx));
    return finishLogin(cleared, ctx, login, result?.ok ? result : { ok: false, user: name, reason: result?.reason ?? 'blocked' }, 'USER');
  });
};

export const apop: Handler<AuthorizationState, CommandOf<'APOP'>> = async ({ name, digest }, state, ctx) =>
  attempt(state, async (cleared) => {
    const login = beginLogin(ctx);
    const result = login.blocked ? undefined : await ctx.auth.verifyApop(name, ctx.apopTimestamp as string, digest, authContext(ctx));
    return finishLogin(cleared, ctx, login, result?.ok ? result : { ok: false, user: name, reason: result?.reason ?? 'blocked' }, 'APOP');
  });

/** RFC 2595 STLS: only before login, only once, only where TLS is configured. */
export const stls: Handler<AuthorizationState, CommandOf<'STLS'>> = async (_command, state, ctx) => {
  if (ctx.peer.tls) throw new Pop3Error('TLS is already active');
  if (!ctx.peer.canStartTls) throw new Pop3Error('TLS is not available');
  // Whatever was said before the handshake counts for nothing; failed logins still do.
  return { startTls: true, next: { name: 'AUTHORIZATION', user: null, authFailures: state.authFailures, sasl: null } };
};
