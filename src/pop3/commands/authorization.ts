import { InvalidUserNameError, isAscii, normalizeUserName } from '../../auth/user-name.js';
import { badCommand, Pop3Error } from '../errors.js';
import type { CommandOf } from '../parser.js';
import { defaultClientOptions, type AuthorizationState } from '../state.js';
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

/**
 * Always +OK for a name that could be one: whether a mailbox exists is not told before the
 * password (RFC 1939 section 7). A non-ASCII name needs UTF8 first (RFC 6856 section 3);
 * after it, the name is prepared with SASLprep as user names are everywhere (user-name.ts).
 */
export const user: Handler<AuthorizationState, CommandOf<'USER'>> = async ({ name }, state) => {
  if (isAscii(name)) return { next: { ...state, user: name }, reply: '+OK Send your password' };
  if (!state.options.utf8) throw new Pop3Error('User names with non-ASCII characters need the UTF8 command first');
  let prepared: string;
  try {
    prepared = normalizeUserName(name);
  } catch (err) {
    if (err instanceof InvalidUserNameError) throw new Pop3Error('Invalid user name');
    throw err;
  }
  return { next: { ...state, user: prepared }, reply: '+OK Send your password' };
};

export const pass: Handler<AuthorizationState, CommandOf<'PASS'>> = async ({ password }, state, ctx) => {
  const name = state.user;
  if (name === null) throw badCommand('Send USER first');
  if (password === '') throw badCommand('Missing argument');
  // Prepared with SASLprep where it is checked (password-schemes.ts).
  if (!state.options.utf8 && !isAscii(password)) throw new Pop3Error('Passwords with non-ASCII characters need the UTF8 command first');
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
  return { startTls: true, next: { name: 'AUTHORIZATION', options: defaultClientOptions, user: null, authFailures: state.authFailures, sasl: null } };
};
