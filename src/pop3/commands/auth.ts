import { badCommand, Pop3Error } from '../errors.js';
import type { CommandOf } from '../parser.js';
import type { AuthorizationState, PendingSasl } from '../state.js';
import { plaintextAllowed, saslContext, saslMechanisms, type Handler, type HandlerContext, type Step } from './context.js';
import { PLAINTEXT_REFUSED } from './authorization.js';
import { attempt, beginLogin, finishLogin } from './login.js';

type AuthCommand = CommandOf<'AUTH'>;

/**
 * RFC 5034 AUTH. Without an argument it lists the mechanisms usable on this connection.
 * With one it starts an exchange: challenges go out as "+ base64", and the session hands
 * the client's next lines to continueSasl until the mechanism succeeds or fails.
 */
export const auth: Handler<AuthorizationState, AuthCommand> = async ({ mechanism: name, initial }, state, ctx) => {
  if (name === undefined) return { reply: { status: '+OK Supported mechanisms follow', lines: saslMechanisms(ctx).map((m) => m.name) } };
  const mechanism = ctx.sasl.find((m) => m.name === name);
  if (!mechanism || !mechanism.available(saslContext(ctx))) throw new Pop3Error('Unsupported authentication mechanism');
  if (mechanism.exposesPassword && !plaintextAllowed(ctx)) throw new Pop3Error(PLAINTEXT_REFUSED, 'AUTH');
  if (initial === null) throw badCommand('Invalid base64 in initial response');
  return attempt(state, async (cleared) => {
    const login = beginLogin(ctx);
    if (login.blocked) return finishLogin(cleared, ctx, login, { ok: false, reason: 'blocked' }, name);
    const pending: PendingSasl = { exchange: mechanism.start(saslContext(ctx)), mechanism: name, attempt: login };
    return saslStep(cleared, pending, initial, ctx);
  });
};

/** The client's answer to a challenge (already base64-decoded), during an AUTH exchange. */
export async function continueSasl(state: AuthorizationState, pending: PendingSasl, response: Buffer, ctx: HandlerContext): Promise<Step> {
  return attempt(state, (cleared) => saslStep(cleared, pending, response, ctx));
}

async function saslStep(cleared: AuthorizationState, pending: PendingSasl, response: Buffer | undefined, ctx: HandlerContext): Promise<Step> {
  if (pending.finalUser !== undefined) {
    // The server-final data went out as a challenge; RFC 5034 wants an empty reply to it.
    const outcome =
      response !== undefined && response.length > 0
        ? { ok: false as const, user: pending.finalUser, reason: 'non-empty reply to server-final data' }
        : { ok: true as const, user: pending.finalUser };
    return finishLogin(cleared, ctx, pending.attempt, outcome, pending.mechanism);
  }
  const step = await pending.exchange.step(response);
  switch (step.kind) {
    case 'challenge':
      return { next: { ...cleared, sasl: pending }, reply: `+ ${step.data.toString('base64')}` };
    case 'success':
      if (step.final && step.final.length > 0) {
        return { next: { ...cleared, sasl: { ...pending, finalUser: step.user } }, reply: `+ ${step.final.toString('base64')}` };
      }
      return finishLogin(cleared, ctx, pending.attempt, { ok: true, user: step.user }, pending.mechanism);
    case 'failure':
      if (step.temporary) {
        ctx.log.error({ event: 'auth_unavailable', mechanism: pending.mechanism, reason: step.reason }, 'authentication backend failed');
        throw new Pop3Error('Authentication temporarily unavailable', 'SYS/TEMP');
      }
      return finishLogin(cleared, ctx, pending.attempt, { ok: false, user: step.user, reason: step.reason }, pending.mechanism);
  }
}
