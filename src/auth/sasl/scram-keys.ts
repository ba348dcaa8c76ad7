import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';
import { saslprepPassword } from './saslprep.js';
import type { ScramKeys } from './types.js';

/*
 * SCRAM-SHA-256 keys (RFC 5802 section 3, RFC 7677) and their text form, the one Dovecot
 * uses after `{SCRAM-SHA-256}`: `ITERATIONS,SALT,STOREDKEY,SERVERKEY`, base64 with padding.
 * Only these keys are stored; the password cannot be recovered from them, and a stolen
 * StoredKey alone does not let a client log in (it lacks ClientKey).
 */

/**
 * PBKDF2 rounds for new keys. RFC 7677 asks for at least 4096, which is cheap to attack
 * offline today; the server never runs PBKDF2 during a SCRAM login (the client does), so the
 * cost falls on clients: 100000 rounds take about 40 ms on one core of a small server, and
 * multiply an attacker's work by 24 over the RFC minimum.
 */
export const DEFAULT_SCRAM_ITERATIONS = 100_000;
export const MIN_SCRAM_ITERATIONS = 4096;
/** A typo in a stored value must fail one login, not hold the CPU for minutes. */
export const MAX_SCRAM_ITERATIONS = 10_000_000;

const SALT_BYTES = 16;
const KEY_BYTES = 32;

export async function generateScramKeys(password: string, iterations = DEFAULT_SCRAM_ITERATIONS): Promise<ScramKeys> {
  if (!Number.isInteger(iterations) || iterations < MIN_SCRAM_ITERATIONS || iterations > MAX_SCRAM_ITERATIONS) {
    throw new RangeError(`SCRAM iterations must be an integer from ${MIN_SCRAM_ITERATIONS} to ${MAX_SCRAM_ITERATIONS}`);
  }
  return deriveScramKeys(password, randomBytes(SALT_BYTES), iterations);
}

export async function deriveScramKeys(password: string, salt: Buffer, iterations: number): Promise<ScramKeys> {
  const salted = await saltedPassword(password, salt, iterations);
  return { iterations, salt, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') };
}

/** SaltedPassword = Hi(Normalize(password), salt, i), which is PBKDF2 with HMAC-SHA-256. */
export function saltedPassword(password: string, salt: Buffer, iterations: number): Promise<Buffer> {
  const prepared = Buffer.from(saslprepPassword(password), 'utf8');
  return new Promise((resolve, reject) => {
    pbkdf2(prepared, salt, iterations, KEY_BYTES, 'sha256', (error, key) => (error ? reject(error) : resolve(key)));
  });
}

export function formatScramKeys(keys: ScramKeys): string {
  return [String(keys.iterations), keys.salt.toString('base64'), keys.storedKey.toString('base64'), keys.serverKey.toString('base64')].join(',');
}

/** Undefined for anything malformed or out of bounds, so a bad line fails its logins only. */
export function parseScramKeys(text: string): ScramKeys | undefined {
  const parts = text.split(',');
  if (parts.length !== 4) return undefined;
  const [iterationText = '', saltText = '', storedText = '', serverText = ''] = parts;
  if (!/^[1-9][0-9]{0,7}$/.test(iterationText)) return undefined;
  const iterations = Number(iterationText);
  const salt = strictBase64(saltText);
  const storedKey = strictBase64(storedText);
  const serverKey = strictBase64(serverText);
  if (iterations > MAX_SCRAM_ITERATIONS || salt === undefined || storedKey === undefined || serverKey === undefined) return undefined;
  if (salt.length === 0 || storedKey.length !== KEY_BYTES || serverKey.length !== KEY_BYTES) return undefined;
  return { iterations, salt, storedKey, serverKey };
}

export function hmac(key: Buffer, data: string | Buffer): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Padded base64 in its one canonical spelling (RFC 5802 uses RFC 4648 base64), else undefined. */
export function strictBase64(text: string): Buffer | undefined {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
