import { saslprepPassword } from './sasl/saslprep.js';
import { constantTimeEqual } from './constant-time.js';
import { deriveScramKeys, parseScramKeys } from './sasl/scram-keys.js';
import type { ScramKeys } from './sasl/types.js';
import { scryptHash, scryptVerify, type ScryptCost } from './scrypt-hash.js';
import { parseShaCryptSetting, shaCrypt } from './sha-crypt.js';

/*
 * Stored secrets use Dovecot's passwd-file notation, `{SCHEME}data`, so an existing Dovecot
 * users file can be used as is and ours can be handed to Dovecot.
 */

/** Schemes new passwords can be stored in. PLAIN exists only because APOP needs the secret. */
export type HashScheme = 'SCRYPT' | 'PLAIN';

/** SCRAM-SHA-256 is Dovecot's `{SCRAM-SHA-256}ITER,SALT,STOREDKEY,SERVERKEY`, read but not written here. */
const SUPPORTED = new Set(['SCRYPT', 'PLAIN', 'CLEARTEXT', 'SHA512-CRYPT', 'SHA256-CRYPT', 'SCRAM-SHA-256']);

export async function hashPassword(
  password: string,
  scheme: HashScheme = 'SCRYPT',
  cost: Partial<ScryptCost> = {},
): Promise<string> {
  if (scheme === 'PLAIN') return `{PLAIN}${password}`;
  return `{SCRYPT}${await scryptHash(saslprepPassword(password), cost)}`;
}

/**
 * A password is checked as SASLprep prepares it (RFC 6856 and RFC 4616 clients may send "é"
 * composed or decomposed), then as typed: hashes stored before postel prepared passwords,
 * or by other tools, hold the bytes as typed. ASCII passwords have one form.
 */
function candidates(password: string): string[] {
  const prepared = saslprepPassword(password);
  return prepared === password ? [password] : [prepared, password];
}

/**
 * The scheme a stored value would be verified with, uppercased. Without a `{SCHEME}` prefix
 * the value is a crypt(3) string (Dovecot's default scheme for passwd-files is CRYPT), and
 * like Dovecot we name it after its `$id$`.
 */
export function schemeOf(stored: string): string {
  return split(stored).scheme;
}

/** Whether verifyPassword can ever succeed for this scheme; callers log the ones it cannot. */
export function isSupportedScheme(scheme: string): boolean {
  return SUPPORTED.has(scheme.toUpperCase());
}

/** True only if `password` matches; unknown schemes and malformed values give false. */
export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  for (const candidate of candidates(password)) if (await verifyOne(stored, candidate)) return true;
  return false;
}

async function verifyOne(stored: string, password: string): Promise<boolean> {
  const { scheme, data } = split(stored);
  switch (scheme) {
    case 'SCRYPT':
      return scryptVerify(data, password);
    case 'PLAIN':
    case 'CLEARTEXT':
      return constantTimeEqual(Buffer.from(data, 'utf8'), Buffer.from(password, 'utf8'));
    case 'SHA512-CRYPT':
    case 'SHA256-CRYPT': {
      const setting = parseShaCryptSetting(data);
      const expectedPrefix = scheme === 'SHA512-CRYPT' ? '$6$' : '$5$';
      if (setting === undefined || setting.variant.prefix !== expectedPrefix) return false;
      // Comparing the whole crypt string (not only the digest) also rejects stored values
      // whose setting part is not in the canonical form crypt(3) would print.
      return constantTimeEqual(await shaCrypt(password, setting), Buffer.from(data, 'utf8'));
    }
    case 'SCRAM-SHA-256': {
      const keys = parseScramKeys(data);
      if (keys === undefined) return false;
      const candidate = await deriveScramKeys(password, keys.salt, keys.iterations);
      const storedMatches = constantTimeEqual(candidate.storedKey, keys.storedKey);
      // Both keys come from the same SaltedPassword; checking the second too rejects a
      // value whose halves were pasted together from different passwords.
      const serverMatches = constantTimeEqual(candidate.serverKey, keys.serverKey);
      return storedMatches && serverMatches;
    }
    default:
      return false;
  }
}

/** The secret itself for schemes that store it recoverably ({PLAIN}, {CLEARTEXT}), else null. */
export function plaintextOf(stored: string): string | null {
  const { scheme, data } = split(stored);
  return scheme === 'PLAIN' || scheme === 'CLEARTEXT' ? data : null;
}

/** The SCRAM-SHA-256 keys of a `{SCRAM-SHA-256}` value, else undefined. */
export function scramKeysOfPassword(stored: string): ScramKeys | undefined {
  const { scheme, data } = split(stored);
  return scheme === 'SCRAM-SHA-256' ? parseScramKeys(data) : undefined;
}

/** Whether the stored value can serve APOP, which needs the plaintext secret. */
export function isPlaintextEquivalent(stored: string): boolean {
  return plaintextOf(stored) !== null;
}

function split(stored: string): { scheme: string; data: string } {
  const close = stored.startsWith('{') ? stored.indexOf('}') : -1;
  if (close < 0) return { scheme: cryptSchemeOf(stored), data: stored };
  const scheme = stored.slice(1, close).toUpperCase();
  const data = stored.slice(close + 1);
  return { scheme: scheme === 'CRYPT' ? cryptSchemeOf(data) : scheme, data };
}

function cryptSchemeOf(data: string): string {
  if (data.startsWith('$6$')) return 'SHA512-CRYPT';
  if (data.startsWith('$5$')) return 'SHA256-CRYPT';
  if (data.startsWith('$1$')) return 'MD5-CRYPT';
  return 'CRYPT';
}
