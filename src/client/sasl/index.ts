import { cramMd5Mechanism } from './cram-md5.js';
import { loginMechanism } from './login.js';
import { oauthBearerMechanism, xoauth2Mechanism } from './oauth.js';
import { plainMechanism } from './plain.js';
import { scramSha256Mechanism } from './scram.js';
import { SaslError, type SaslMechanism } from './types.js';

export { SaslError, type SaslMechanism } from './types.js';
export { scramSha256Mechanism } from './scram.js';

/** Mechanisms this client implements, strongest first for automatic choice. */
export const SASL_MECHANISMS = ['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN', 'XOAUTH2', 'OAUTHBEARER'] as const;
export type SaslMechanismName = (typeof SASL_MECHANISMS)[number];

export interface SaslCredentials {
  readonly user: string;
  /** Password, or the OAuth access token for XOAUTH2 and OAUTHBEARER. */
  readonly secret: string;
  /** For OAUTHBEARER's host and port fields. */
  readonly host: string;
  readonly port: number;
}

export function createMechanism(name: SaslMechanismName, credentials: SaslCredentials): SaslMechanism {
  const { user, secret } = credentials;
  switch (name) {
    case 'PLAIN':
      return plainMechanism(user, secret);
    case 'LOGIN':
      return loginMechanism(user, secret);
    case 'CRAM-MD5':
      return cramMd5Mechanism(user, secret);
    case 'SCRAM-SHA-256':
      return scramSha256Mechanism(user, secret);
    case 'XOAUTH2':
      return xoauth2Mechanism(user, secret);
    case 'OAUTHBEARER':
      return oauthBearerMechanism(user, secret, credentials.host, credentials.port);
    default: {
      const unknown: never = name;
      throw new SaslError(`unsupported SASL mechanism ${String(unknown)}`);
    }
  }
}

export function isSaslMechanismName(name: string): name is SaslMechanismName {
  return (SASL_MECHANISMS as readonly string[]).includes(name);
}
