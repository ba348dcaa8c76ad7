import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { constantTimeEqual } from './constant-time.js';
import { isSupportedScheme, plaintextOf, schemeOf, verifyPassword } from './password-schemes.js';
import type { AuthContext, AuthResult, Authenticator } from './types.js';
import { InvalidUserNameError, normalizeUserName } from './user-name.js';
import type { UserEntry, UsersFile } from './users-file.js';

/**
 * Verified in place of the real hash when the user does not exist, so that the reply comes
 * as late as for a wrong password. Its cost must equal DEFAULT_SCRYPT_COST (a test checks);
 * the password it was made from was random and thrown away.
 */
export const DUMMY_HASH = '{SCRYPT}$scrypt$ln=15,r=8,p=1$kt5uSgL+zgmW6lslwBjbjg$5+MN7mQ1BPtavDLOpisvGKpHCvnt8Ow+UUCbtRTmLco';

export interface FileAuthenticatorOptions {
  /** Receives a warning when a user's secret is in a scheme that can never verify. */
  readonly logger?: Logger;
}

export class FileAuthenticator implements Authenticator {
  constructor(private readonly users: UsersFile, private readonly options: FileAuthenticatorOptions = {}) {}

  async verify(user: string, password: string, _ctx: AuthContext): Promise<AuthResult> {
    const name = canonical(user);
    if (name === undefined) return { ok: false, reason: 'invalid-name' };
    const entry = await this.users.lookup(name);
    if (entry === undefined) {
      await verifyPassword(DUMMY_HASH, password);
      return { ok: false, reason: 'unknown-user' };
    }
    this.warnIfUnsupported(entry);
    return (await verifyPassword(entry.password, password))
      ? { ok: true, user: entry.name }
      : { ok: false, reason: 'bad-password' };
  }

  async verifyApop(user: string, timestamp: string, digest: string, _ctx: AuthContext): Promise<AuthResult> {
    const name = canonical(user);
    if (name === undefined) return { ok: false, reason: 'invalid-name' };
    const entry = await this.users.lookup(name);
    if (entry === undefined) return { ok: false, reason: 'unknown-user' };
    const secret = plaintextOf(entry.password);
    if (secret === null) return { ok: false, reason: 'no-apop-secret' };
    const expected = createHash('md5').update(timestamp + secret, 'utf8').digest('hex');
    // RFC 1939 asks for lowercase hex; accepting uppercase costs nothing and helps odd clients.
    return constantTimeEqual(Buffer.from(expected, 'latin1'), Buffer.from(digest.toLowerCase(), 'utf8'))
      ? { ok: true, user: entry.name }
      : { ok: false, reason: 'bad-password' };
  }

  private warnIfUnsupported(entry: UserEntry): void {
    const scheme = schemeOf(entry.password);
    if (!isSupportedScheme(scheme)) {
      this.options.logger?.warn({ user: entry.name, scheme }, 'password scheme not supported; this user cannot log in');
    }
  }
}

function canonical(user: string): string | undefined {
  try {
    return normalizeUserName(user);
  } catch (error) {
    if (error instanceof InvalidUserNameError) return undefined;
    throw error;
  }
}
