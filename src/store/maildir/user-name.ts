import { StoreError } from '../errors.js';

/**
 * The user name becomes a directory under the mail root, so anything that could climb out
 * of it or hide among dot-directories is refused even though callers pass canonical names.
 */
export function assertValidUserName(user: string): void {
  if (!isValidUserName(user)) {
    throw new StoreError(`invalid user name ${JSON.stringify(user)}`, false);
  }
}

export function isValidUserName(user: string): boolean {
  if (user.length === 0 || user.startsWith('.') || user.includes('..')) return false;
  for (let i = 0; i < user.length; i++) {
    const c = user.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x2f /* / */ || c === 0x5c /* \ */) return false;
  }
  return true;
}
