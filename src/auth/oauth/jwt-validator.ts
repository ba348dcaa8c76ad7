import { ALGORITHMS, keyFits, verifySignature } from './algorithms.js';
import { parseCompactJws } from './jws.js';
import { OAuthKeyError, type KeySource, type VerificationKey } from './keys.js';
import type { OAuthResult, OAuthValidator } from './types.js';

export interface JwtValidatorOptions {
  readonly keys: KeySource;
  /** The `iss` tokens must carry, exactly. */
  readonly issuer: string;
  /** Tokens must name one of these in `aud`: tokens minted for other services are refused. */
  readonly audience: string | readonly string[];
  /** Claims tried in order for the user name; default email, then sub. */
  readonly userClaims?: readonly string[];
  /** Clock skew allowed on exp, nbf and iat; default 60 s. */
  readonly leewaySeconds?: number;
  /** Default: every algorithm in algorithms.ts. */
  readonly algorithms?: readonly string[];
  /** A scope the token must grant (`scope` or `scp`), if set. */
  readonly requiredScope?: string;
  /** Tests only. */
  readonly now?: () => number;
}

export const DEFAULT_USER_CLAIMS: readonly string[] = ['email', 'sub'];
export const DEFAULT_LEEWAY_SECONDS = 60;
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Access tokens that are JWTs (RFC 7519, RFC 9068) signed by a configured issuer, checked
 * offline against its public keys.
 */
export class JwtValidator implements OAuthValidator {
  private readonly audiences: readonly string[];
  private readonly algorithms: ReadonlySet<string>;

  constructor(private readonly options: JwtValidatorOptions) {
    if (options.issuer === '') throw new RangeError('JwtValidator needs an issuer');
    this.audiences = typeof options.audience === 'string' ? [options.audience] : options.audience;
    if (this.audiences.length === 0 || this.audiences.includes('')) throw new RangeError('JwtValidator needs an audience');
    const algorithms = options.algorithms ?? [...ALGORITHMS.keys()];
    const unknown = algorithms.filter((alg) => !ALGORITHMS.has(alg));
    if (unknown.length > 0) throw new RangeError(`unsupported JWT algorithms: ${unknown.join(', ')}`);
    this.algorithms = new Set(algorithms);
  }

  async validate(token: string): Promise<OAuthResult> {
    if (token.length > MAX_TOKEN_LENGTH) return refuse('token too long');
    const jws = parseCompactJws(token);
    if (typeof jws === 'string') return refuse(jws);
    const { alg, kid, crit } = jws.header;
    if (typeof alg !== 'string' || !this.algorithms.has(alg)) return refuse(`algorithm ${String(alg)} not accepted`);
    // RFC 7515 section 4.1.11: extensions the recipient must understand; none are.
    if (crit !== undefined) return refuse('token has critical header extensions');
    if (kid !== undefined && typeof kid !== 'string') return refuse('kid is not a string');

    let keys: readonly VerificationKey[];
    try {
      keys = await this.options.keys.keys();
    } catch (error) {
      if (error instanceof OAuthKeyError) return { ok: false, reason: error.message, temporary: true };
      throw error;
    }
    const candidates = keys.filter((k) => (kid === undefined || k.kid === kid) && (k.alg === undefined || k.alg === alg) && keyFits(alg, k.key));
    if (candidates.length === 0) return refuse(kid === undefined ? `no key for ${alg}` : `no key ${kid} for ${alg}`);
    if (!candidates.some((k) => verifySignature(alg, k.key, jws.signingInput, jws.signature))) return refuse('bad signature');
    return this.claims(jws.payload);
  }

  private claims(payload: Readonly<Record<string, unknown>>): OAuthResult {
    const now = (this.options.now?.() ?? Date.now()) / 1000;
    const leeway = this.options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS;
    const { iss, aud, exp, nbf, iat } = payload;
    if (iss !== this.options.issuer) return refuse(`issuer ${String(iss)} not accepted`);
    const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    if (!audiences.some((a) => typeof a === 'string' && this.audiences.includes(a))) return refuse('token is for another audience');
    // A token without an expiry would be good forever once leaked.
    if (typeof exp !== 'number') return refuse('token has no exp');
    if (now > exp + leeway) return refuse('token expired');
    if (nbf !== undefined && (typeof nbf !== 'number' || now < nbf - leeway)) return refuse('token not yet valid (nbf)');
    if (iat !== undefined && (typeof iat !== 'number' || now < iat - leeway)) return refuse('token issued in the future (iat)');
    if (this.options.requiredScope !== undefined && !scopesOf(payload).includes(this.options.requiredScope)) {
      return refuse(`token lacks scope ${this.options.requiredScope}`);
    }
    const user = this.userOf(payload);
    return user === undefined ? refuse('token names no user') : { ok: true, user };
  }

  private userOf(payload: Readonly<Record<string, unknown>>): string | undefined {
    for (const claim of this.options.userClaims ?? DEFAULT_USER_CLAIMS) {
      const value = payload[claim];
      // An address the issuer says it has not verified could be anyone's.
      if (claim === 'email' && payload.email_verified === false) continue;
      if (typeof value === 'string' && value !== '') return value;
    }
    return undefined;
  }
}

/** `scope` is a space-separated string (RFC 8693 section 4.2); some issuers send `scp` as a list. */
function scopesOf(payload: Readonly<Record<string, unknown>>): string[] {
  const { scope, scp } = payload;
  if (typeof scope === 'string') return scope.split(' ');
  if (typeof scp === 'string') return scp.split(' ');
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  return [];
}

function refuse(reason: string): OAuthResult {
  return { ok: false, reason };
}
