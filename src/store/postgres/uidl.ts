import { randomBytes } from 'node:crypto';

/**
 * UIDLs are "<prefix>.<uid>": uid counts up per maildrop and is never reused; the prefix is
 * random per maildrop row, so a maildrop removed and made again never repeats a UIDL.
 */
export function newUidlPrefix(): string {
  return randomBytes(6).toString('hex');
}
