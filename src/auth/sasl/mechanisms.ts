import { randomBytes } from 'node:crypto';
import type { OAuthValidator } from '../oauth/types.js';
import { cramMd5Mechanism } from './cram-md5.js';
import { externalMechanism } from './external.js';
import { loginMechanism } from './login.js';
import { oauthBearerMechanism, xoauth2Mechanism } from './oauth-mechanisms.js';
import { plainMechanism } from './plain.js';
import { DEFAULT_SCRAM_ITERATIONS } from './scram-keys.js';
import { scramMechanism } from './scram.js';
import type { SaslContext, SaslCredentials, SaslMechanism } from './types.js';

export const MECHANISM_NAMES = [
  'PLAIN',
  'LOGIN',
  'CRAM-MD5',
  'SCRAM-SHA-256',
  'SCRAM-SHA-256-PLUS',
  'OAUTHBEARER',
  'XOAUTH2',
  'EXTERNAL',
] as const;
export type MechanismName = (typeof MECHANISM_NAMES)[number];

export interface MechanismDeps {
  readonly credentials: SaslCredentials;
  /** Needed by OAUTHBEARER and XOAUTH2. */
  readonly oauth?: OAuthValidator;
  /** Told to clients whose token failed (RFC 7628 section 3.2.2); both optional. */
  readonly oauthScope?: string;
  readonly oauthOpenidConfiguration?: string;
  /**
   * At least 32 random bytes kept across restarts; keys the stand-in credentials of unknown
   * users (SCRAM salts, CRAM-MD5). A fresh one per process works, but then an unknown user's
   * salt changes at each restart while a real one's does not.
   */
  readonly secret?: Buffer;
  /** Iteration count SCRAM announces for unknown users; set it to the count new users get. */
  readonly scramIterations?: number;
  /** Ends CRAM-MD5 challenges. */
  readonly hostname?: string;
}

/** A mechanism list that cannot be built: an unknown name, or one missing what it needs. */
export class MechanismConfigError extends Error {
  override readonly name = 'MechanismConfigError';
}

/**
 * The mechanisms named, in that order (CAPA lists them so). Names are case-insensitive
 * (RFC 4422 section 3.1). Throws MechanismConfigError for unknown names, duplicates, or
 * OAuth mechanisms without a validator.
 */
export function createMechanisms(names: readonly string[], deps: MechanismDeps): SaslMechanism[] {
  const wanted: MechanismName[] = names.map((raw) => {
    const name = raw.toUpperCase();
    if (!isMechanismName(name)) throw new MechanismConfigError(`unknown SASL mechanism ${raw} (known: ${MECHANISM_NAMES.join(', ')})`);
    return name;
  });
  const duplicate = wanted.find((name, index) => wanted.indexOf(name) !== index);
  if (duplicate !== undefined) throw new MechanismConfigError(`SASL mechanism ${duplicate} listed twice`);
  const secret = deps.secret ?? randomBytes(32);
  if (secret.length < 16) throw new MechanismConfigError('the SASL secret must be at least 16 bytes');
  const iterations = deps.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;

  const mechanisms: SaslMechanism[] = [];
  // Refers to the list being built, so SCRAM-SHA-256 can tell whether -PLUS is offered.
  const plus = (): SaslMechanism | undefined => mechanisms.find((m) => m.name === 'SCRAM-SHA-256-PLUS');
  for (const name of wanted) mechanisms.push(build(name));
  return mechanisms;

  function build(name: MechanismName): SaslMechanism {
    const { credentials } = deps;
    switch (name) {
      case 'PLAIN':
        return plainMechanism(credentials);
      case 'LOGIN':
        return loginMechanism(credentials);
      case 'CRAM-MD5':
        return cramMd5Mechanism({ credentials, secret, ...(deps.hostname !== undefined && { hostname: deps.hostname }) });
      case 'SCRAM-SHA-256':
        return scramMechanism({ credentials, secret, iterations, plus: false, plusOffered: (ctx) => plus()?.available(ctx) ?? false });
      case 'SCRAM-SHA-256-PLUS':
        return scramMechanism({ credentials, secret, iterations, plus: true });
      case 'OAUTHBEARER':
      case 'XOAUTH2': {
        if (deps.oauth === undefined) throw new MechanismConfigError(`${name} needs an OAuth token validator (configure [oauth])`);
        const options = {
          credentials,
          validator: deps.oauth,
          ...(deps.oauthScope !== undefined && { scope: deps.oauthScope }),
          ...(deps.oauthOpenidConfiguration !== undefined && { openidConfiguration: deps.oauthOpenidConfiguration }),
        };
        return name === 'OAUTHBEARER' ? oauthBearerMechanism(options) : xoauth2Mechanism(options);
      }
      case 'EXTERNAL':
        return externalMechanism(credentials);
    }
  }
}

/**
 * Names for CAPA's SASL line and a bare AUTH: mechanisms this connection can use. Those
 * that send a password or token are left out unless the connection is secure, -PLUS unless
 * there is channel binding data, EXTERNAL unless a client certificate named a user.
 */
export function advertisedMechanisms(mechanisms: readonly SaslMechanism[], ctx: SaslContext): string[] {
  return mechanisms.filter((m) => usable(m, ctx)).map((m) => m.name);
}

export type MechanismSelection =
  | { readonly ok: true; readonly mechanism: SaslMechanism }
  /**
   * unknown: not enabled here. insecure: enabled, but it would send a password on a
   * connection that is not secure (POP3: `-ERR [AUTH] Plaintext authentication disallowed
   * on non-secure connections`). unavailable: this connection lacks what it needs.
   */
  | { readonly ok: false; readonly reason: 'unknown' | 'insecure' | 'unavailable' };

/** The mechanism a client asked for by name (any case), if it may use it on this connection. */
export function selectMechanism(mechanisms: readonly SaslMechanism[], name: string, ctx: SaslContext): MechanismSelection {
  const mechanism = mechanisms.find((m) => m.name === name.toUpperCase());
  if (mechanism === undefined) return { ok: false, reason: 'unknown' };
  if (mechanism.exposesPassword && !ctx.secure) return { ok: false, reason: 'insecure' };
  if (!mechanism.available(ctx)) return { ok: false, reason: 'unavailable' };
  return { ok: true, mechanism };
}

function usable(mechanism: SaslMechanism, ctx: SaslContext): boolean {
  return (!mechanism.exposesPassword || ctx.secure) && mechanism.available(ctx);
}

function isMechanismName(name: string): name is MechanismName {
  return (MECHANISM_NAMES as readonly string[]).includes(name);
}
