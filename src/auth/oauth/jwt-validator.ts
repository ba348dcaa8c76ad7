import type { JsonWebKey, webcrypto } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify, type JWK, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
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
  /** Default: every algorithm in SUPPORTED_ALGORITHMS. */
  readonly algorithms?: readonly string[];
  /** A scope the token must grant (`scope` or `scp`), if set. */
  readonly requiredScope?: string;
  /** Tests only. */
  readonly now?: () => number;
}

/**
 * The JWS algorithms accepted: asymmetric only. HS256 and friends are left out on purpose:
 * with a public key configured, accepting them invites the classic attack of signing with
 * the public key as an HMAC secret; `none` is never accepted by jose.
 */
export const SUPPORTED_ALGORITHMS: readonly string[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** RFC 9068 section 4: `at+jwt`; plain `JWT` from issuers that predate it. Compared case-insensitively. */
const ACCEPTED_TYP = new Set(['at+jwt', 'application/at+jwt', 'jwt']);

export const DEFAULT_USER_CLAIMS: readonly string[] = ['email', 'sub'];
export const DEFAULT_LEEWAY_SECONDS = 60;
const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Access tokens that are JWTs (RFC 7519, RFC 9068) signed by a configured issuer, checked
 * offline against its public keys. The signature, algorithm, `exp`, `nbf`, `iss` and `aud`
 * are jose's to judge (`jwtVerify` over `createLocalJWKSet`); what is ours is the policy
 * around it: which algorithms and `typ` values, which claims name the user, the scope.
 */
export class JwtValidator implements OAuthValidator {
  private readonly verifyOptions: JWTVerifyOptions;
  /** The key set handed to jose, per KeySource answer (a file's keys until it changes). */
  private readonly keySets = new WeakMap<readonly VerificationKey[], JWTVerifyGetKey>();

  constructor(private readonly options: JwtValidatorOptions) {
    if (options.issuer === '') throw new RangeError('JwtValidator needs an issuer');
    const audiences = typeof options.audience === 'string' ? [options.audience] : [...options.audience];
    if (audiences.length === 0 || audiences.includes('')) throw new RangeError('JwtValidator needs an audience');
    const algorithms = options.algorithms ?? SUPPORTED_ALGORITHMS;
    const unknown = algorithms.filter((alg) => !SUPPORTED_ALGORITHMS.includes(alg));
    if (unknown.length > 0) throw new RangeError(`unsupported JWT algorithms: ${unknown.join(', ')}`);
    this.verifyOptions = {
      algorithms: [...algorithms],
      issuer: options.issuer,
      audience: audiences,
      // A token without an expiry would be good forever once leaked.
      requiredClaims: ['exp', 'iss', 'aud'],
      clockTolerance: options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS,
    };
  }

  async validate(token: string): Promise<OAuthResult> {
    if (token.length > MAX_TOKEN_LENGTH) return refuse('token too long');
    let keys: readonly VerificationKey[];
    try {
      keys = await this.options.keys.keys();
    } catch (error) {
      if (error instanceof OAuthKeyError) return { ok: false, reason: error.message, temporary: true };
      throw error;
    }
    const now = this.options.now?.() ?? Date.now();
    let payload: JWTPayload;
    let typ: unknown;
    try {
      ({ payload, protectedHeader: { typ } } = await this.verify(token, keys, { ...this.verifyOptions, currentDate: new Date(now) }));
    } catch (error) {
      return refuse(reasonOf(error, token));
    }
    if (typ !== undefined && (typeof typ !== 'string' || !ACCEPTED_TYP.has(typ.toLowerCase()))) return refuse(`token type ${String(typ)} not accepted`);
    const leeway = this.options.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS;
    if (payload.iat !== undefined && payload.iat > now / 1000 + leeway) return refuse('token issued in the future (iat)');
    if (this.options.requiredScope !== undefined && !scopesOf(payload).includes(this.options.requiredScope)) {
      return refuse(`token lacks scope ${this.options.requiredScope}`);
    }
    const user = this.userOf(payload);
    return user === undefined ? refuse('token names no user') : { ok: true, user };
  }

  /** jwtVerify against the key set; several keys without a kid that fit are each tried (jose's documented way). */
  private async verify(token: string, keys: readonly VerificationKey[], options: JWTVerifyOptions) {
    try {
      return await jwtVerify(token, this.keySet(keys), options);
    } catch (error) {
      if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
      for await (const key of error as errors.JWKSMultipleMatchingKeys & AsyncIterable<webcrypto.CryptoKey>) {
        try {
          return await jwtVerify(token, key, options);
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }

  private keySet(keys: readonly VerificationKey[]): JWTVerifyGetKey {
    let set = this.keySets.get(keys);
    if (set === undefined) {
      const jwks: JWK[] = [];
      for (const k of keys) {
        let jwk: JsonWebKey;
        try {
          jwk = k.key.export({ format: 'jwk' });
        } catch {
          // A key Node cannot express as a JWK (RSA-PSS parameters) cannot sign a JWS jose checks either.
          continue;
        }
        jwks.push({ ...(jwk as JWK), use: 'sig', ...(k.kid !== undefined ? { kid: k.kid } : {}), ...(k.alg !== undefined ? { alg: k.alg } : {}) });
      }
      set = createLocalJWKSet({ keys: jwks });
      this.keySets.set(keys, set);
    }
    return set;
  }

  private userOf(payload: JWTPayload): string | undefined {
    for (const claim of this.options.userClaims ?? DEFAULT_USER_CLAIMS) {
      const value = payload[claim];
      // An address the issuer says it has not verified could be anyone's.
      if (claim === 'email' && payload.email_verified === false) continue;
      if (typeof value === 'string' && value !== '') return value;
    }
    return undefined;
  }
}

/** For logs: what jose refused, in words an operator can act on. */
function reasonOf(error: unknown, token: string): string {
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'bad signature';
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return `algorithm ${headerField(token, 'alg')} not accepted`;
  if (error instanceof errors.JWKSNoMatchingKey) {
    const kid = headerField(token, 'kid');
    return kid === undefined ? `no key for ${headerField(token, 'alg')}` : `no key ${kid} for ${headerField(token, 'alg')}`;
  }
  if (error instanceof errors.JWTExpired) return 'token expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim ${error.claim} refused: ${error.reason}`;
  if (error instanceof errors.JOSEError) return `${error.code}: ${error.message}`;
  // jose throws TypeError for keys it will not use (RSA under 2048 bits) and malformed input.
  return error instanceof Error ? error.message : String(error);
}

function headerField(token: string, field: 'alg' | 'kid'): string | undefined {
  try {
    const value = decodeProtectedHeader(token)[field];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `scope` is a space-separated string (RFC 8693 section 4.2); some issuers send `scp` as a list. */
function scopesOf(payload: JWTPayload): string[] {
  const { scope, scp } = payload;
  if (typeof scope === 'string') return scope.split(' ');
  if (typeof scp === 'string') return scp.split(' ');
  if (Array.isArray(scp)) return scp.filter((s): s is string => typeof s === 'string');
  return [];
}

function refuse(reason: string): OAuthResult {
  return { ok: false, reason };
}
