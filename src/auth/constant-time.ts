import { timingSafeEqual } from 'node:crypto';

/**
 * Byte equality whose running time depends only on the lengths, not on where the inputs
 * differ. Both sides are padded to the longer length so that a length mismatch does not
 * return early; the lengths themselves still influence the time (they are not secret here:
 * hash lengths are fixed per scheme, and the attacker knows the length of what they sent).
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  const length = Math.max(a.length, b.length, 1);
  const left = Buffer.alloc(length);
  const right = Buffer.alloc(length);
  left.set(a);
  right.set(b);
  const sameBytes = timingSafeEqual(left, right);
  // Evaluated after the byte comparison, and without short-circuiting it.
  return sameBytes && a.length === b.length;
}
