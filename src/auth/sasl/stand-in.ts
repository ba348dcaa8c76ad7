import { createHmac } from 'node:crypto';

/*
 * Stand-in secrets for users who do not exist (or lack what a mechanism needs), so that
 * their exchange looks and takes like a real one with a wrong password. They derive from a
 * per-installation secret and the name, so asking twice for the same unknown user gives
 * the same salt, as it would for a real user.
 */
export function standIn(secret: Buffer, purpose: string, user: string, length = 32): Buffer {
  return createHmac('sha256', secret).update(purpose).update('\0').update(user, 'utf8').digest().subarray(0, length);
}
