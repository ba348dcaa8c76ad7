import { badCommand, Pop3Error } from '../errors.js';
import { decodeBase64, type PendingSasl, type Session } from '../session.js';
import type { Handler } from './types.js';
import { expectArgs } from './message-arg.js';
import { PLAINTEXT_REFUSED } from './authorization.js';
import { authorization, checkBudget, enterTransaction, failLogin } from './login.js';

/**
 * RFC 5034 AUTH. Without an argument it lists the mechanisms usable on this connection.
 * With one it starts an exchange: challenges go out as "+ base64", and the session feeds the
 * client's next lines to continueSasl until the mechanism succeeds or fails.
 */
export const auth: Handler = async (session, { args }) => {
  const offered = session.saslMechanisms();
  if (args.length === 0) {
    await session.replyLines('+OK Supported mechanisms follow', offered.map((m) => m.name));
    return;
  }
  expectArgs(args, 1, 2);
  const name = (args[0] as string).toUpperCase();
  const mechanism = (session.deps.sasl ?? []).find((m) => m.name === name);
  if (!mechanism || !mechanism.available(session.saslContext)) throw new Pop3Error('Unsupported authentication mechanism');
  if (mechanism.exposesPassword && !session.plaintextAllowed) throw new Pop3Error(PLAINTEXT_REFUSED, 'AUTH');
  let initial: Buffer | undefined;
  if (args.length === 2) {
    const decoded = args[1] === '=' ? Buffer.alloc(0) : decodeBase64(args[1] as string);
    if (decoded === null) throw badCommand('Invalid base64 in initial response');
    initial = decoded;
  }
  authorization(session).user = null;
  await checkBudget(session, undefined);
  const pending: PendingSasl = { exchange: mechanism.start(session.saslContext), mechanism: name };
  session.sasl = pending;
  await continueSasl(session, pending, initial);
};

export async function continueSasl(session: Session, pending: PendingSasl, response: Buffer | undefined): Promise<void> {
  if (pending.finalUser !== undefined) {
    // The server-final data went out as a challenge; RFC 5034 wants an empty reply to it.
    session.sasl = null;
    if (response !== undefined && response.length > 0) return failLogin(session, pending.finalUser, 'non-empty reply to server-final data', pending.mechanism);
    return enterTransaction(session, pending.finalUser, pending.mechanism);
  }
  const step = await pending.exchange.step(response);
  switch (step.kind) {
    case 'challenge':
      await session.reply(`+ ${step.data.toString('base64')}`);
      return;
    case 'success':
      if (step.final && step.final.length > 0) {
        pending.finalUser = step.user;
        await session.reply(`+ ${step.final.toString('base64')}`);
        return;
      }
      session.sasl = null;
      return enterTransaction(session, step.user, pending.mechanism);
    case 'failure':
      session.sasl = null;
      if (step.temporary) {
        session.log.error({ event: 'auth_unavailable', mechanism: pending.mechanism, reason: step.reason }, 'authentication backend failed');
        throw new Pop3Error('Authentication temporarily unavailable', 'SYS/TEMP');
      }
      return failLogin(session, step.user, step.reason, pending.mechanism);
  }
}
