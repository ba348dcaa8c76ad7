import { InvalidUserNameError, normalizeUserName } from '../user-name.js';

/** The canonical form of a name a client sent, or undefined when it cannot be a user name. */
export function canonicalName(name: string): string | undefined {
  try {
    return normalizeUserName(name);
  } catch (error) {
    if (error instanceof InvalidUserNameError) return undefined;
    throw error;
  }
}

/**
 * Whether an authorization identity the client asked for is the authenticated user itself.
 * Absent or empty means "the same". Proxy authorization (acting as another user) is not
 * offered, so anything else is refused.
 */
export function authzidAllowed(authzid: string | undefined, user: string): boolean {
  if (authzid === undefined || authzid === '') return true;
  return canonicalName(authzid) === user;
}
