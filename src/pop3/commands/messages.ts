import { Pop3Error } from '../errors.js';
import type { TransactionState } from '../state.js';

/** "1 message", "2 messages": replies a person reads. */
export function countOfMessages(n: number): string {
  return `${n} message${n === 1 ? '' : 's'}`;
}

/**
 * A message number that exists and is not marked deleted, as a 0-based index (RFC 1939
 * section 5: deleted messages may not be referenced).
 */
export function messageIndex(state: TransactionState, n: number): number {
  if (n > state.maildrop.messages.length) throw new Pop3Error('No such message');
  if (state.deleted.has(n - 1)) throw new Pop3Error(`Message ${n} already deleted`);
  return n - 1;
}
