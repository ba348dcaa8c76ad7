import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { constantTimeEqual } from './constant-time.js';
import { isSupportedScheme, plaintextOf, schemeOf, verifyPassword } from './password-schemes.js';
import type { AuthContext, AuthResult, Authenticator } from './types.js';
import { InvalidUserNameError, normalizeUserName } from './user-name.js';
import { VerifiedPasswordCache } from './verified-cache.js';
import type { UserEntry } from './users-file.js';
import type { Users } from './users.js';

/**
 * Verified in place of the real hash when the user does not exist, so that the reply comes
 * as late as for a wrong password. Its cost must equal DEFAULT_SCRYPT_COST (a test checks);
 * the password it was made from was random and thrown away.
 */
export const DUMMY_HASH = '{SCRYPT}$scrypt$ln=15,r=8,p=1$kt5uSgL+zgmW6lslwBjbjg$5+MN7mQ1BPtavDLOpisvGKpHCvnt8Ow+UUCbtRTmLco';

export interface FileAuthenticatorOptions {
  /** Receives a warning when a user's secret is in a scheme that can never verify. */
  readonly logger?: Logger;
  /**
   * Users whose last successful password is remembered (as an HMAC, see VerifiedPasswordCache)
   * so that their next logins skip the slow hash. Default 10,000; 0 turns the cache off.
   */
  readonly cacheSize?: number;
  /** The cache's HMAC key, shared by processes that pass entries to each other (onVerified). */
  readonly cacheKey?: Buffer;
  /** Told of every password verified the slow way, with the HMAC cached for it. */
  readonly onVerified?: (verified: VerifiedPassword) => void;
}

/** A cache entry as it travels between processes that share the cache key. */
export interface VerifiedPassword {
  readonly user: string;
  readonly stored: string;
  readonly mac: Buffer;
}

/** Enough for every active user of a large single server; an entry is about 300 bytes. */
const DEFAULT_CACHE_SIZE = 10_000;
/** Plaintext schemes are compared in microseconds: nothing to save by caching them. */
const UNCACHED_SCHEMES = new Set(['PLAIN', 'CLEARTEXT']);

export class FileAuthenticator implements Authenticator {
  private readonly verified: VerifiedPasswordCache;

  constructor(private readonly users: Users, private readonly options: FileAuthenticatorOptions = {}) {
    this.verified = new VerifiedPasswordCache(options.cacheSize ?? DEFAULT_CACHE_SIZE, options.cacheKey);
  }

  /** A password another process verified (see onVerified); used while the hash is unchanged. */
  adoptVerified(verified: VerifiedPassword): void {
    this.verified.adopt(verified.user, verified.stored, verified.mac);
  }

  async verify(user: string, password: string, _ctx: AuthContext): Promise<AuthResult> {
    const name = canonical(user);
    if (name === undefined) return { ok: false, reason: 'invalid-name' };
    const entry = await this.users.lookup(name);
    if (entry === undefined) {
      await verifyPassword(DUMMY_HASH, password);
      return { ok: false, reason: 'unknown-user' };
    }
    this.warnIfUnsupported(entry);
    if (this.verified.matches(entry.name, entry.password, password)) return { ok: true, user: entry.name };
    if (!(await verifyPassword(entry.password, password))) return { ok: false, reason: 'bad-password' };
    if (!UNCACHED_SCHEMES.has(schemeOf(entry.password))) {
      const mac = this.verified.remember(entry.name, entry.password, password);
      this.options.onVerified?.({ user: entry.name, stored: entry.password, mac });
    }
    return { ok: true, user: entry.name };
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
