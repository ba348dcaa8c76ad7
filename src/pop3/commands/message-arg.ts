import { badCommand, Pop3Error } from '../errors.js';
import { parseMessageNumber } from '../parser.js';
import type { Session } from '../session.js';

/** The TRANSACTION state, or a fault: handlers in the TRANSACTION table are only called there. */
export function transaction(session: Session) {
  const state = session.state;
  if (state.name !== 'TRANSACTION') throw new Error(`handler called in ${state.name}`);
  return state;
}

/**
 * Resolves a message-number argument to a 0-based index of a message that exists and is
 * not marked deleted (RFC 1939 section 5: deleted messages may not be referenced).
 */
export function messageIndex(session: Session, arg: string | undefined): number {
  const state = transaction(session);
  const n = parseMessageNumber(arg);
  if (n === undefined) throw badCommand(arg === undefined ? 'Message number required' : 'Invalid message number');
  if (n > state.maildrop.messages.length) throw new Pop3Error('No such message');
  if (state.deleted.has(n - 1)) throw new Pop3Error(`Message ${n} already deleted`);
  return n - 1;
}

export function expectArgs(args: readonly string[], min: number, max: number): void {
  if (args.length < min) throw badCommand('Missing argument');
  if (args.length > max) throw badCommand('Too many arguments');
}
