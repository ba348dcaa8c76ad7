import { randomBytes, scrypt } from 'node:crypto';
import { constantTimeEqual } from './constant-time.js';

/** scrypt cost: N = 2^ln, block size r, parallelism p. */
export interface ScryptCost {
  readonly ln: number;
  readonly r: number;
  readonly p: number;
}

/** The cost of newly hashed passwords (about 32 MiB and ~0.1 s per hash). */
export const DEFAULT_SCRYPT_COST: ScryptCost = Object.freeze({ ln: 15, r: 8, p: 1 });

const SALT_BYTES = 16;
const KEY_BYTES = 32;
/**
 * Bounds on what a stored string may ask for. The users file is trusted, but a typo such
 * as ln=51 must fail one login rather than exhaust the machine's memory.
 */
const MAX_LN = 24;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY = 1024 * 1024 * 1024;
const MIN_SALT_BYTES = 8;
const MAX_SALT_BYTES = 64;

interface ParsedScrypt {
  readonly cost: ScryptCost;
  readonly salt: Buffer;
  readonly key: Buffer;
}

/** `$scrypt$ln=15,r=8,p=1$<salt>$<key>`, both in base64 without padding (passlib's layout). */
export async function scryptHash(password: string, cost: Partial<ScryptCost> = {}): Promise<string> {
  const full: ScryptCost = { ...DEFAULT_SCRYPT_COST, ...cost };
  if (!acceptableCost(full)) throw new RangeError(`scrypt cost out of range: ln=${full.ln},r=${full.r},p=${full.p}`);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, KEY_BYTES, full);
  return `$scrypt$ln=${full.ln},r=${full.r},p=${full.p}$${base64(salt)}$${base64(key)}`;
}

/** False for a wrong password and for any malformed or out-of-bounds stored value. */
export async function scryptVerify(encoded: string, password: string): Promise<boolean> {
  const parsed = parseScrypt(encoded);
  if (parsed === undefined) return false;
  const candidate = await derive(password, parsed.salt, parsed.key.length, parsed.cost);
  return constantTimeEqual(candidate, parsed.key);
}

/** The cost recorded in a stored value, or undefined if the value is not a usable scrypt hash. */
export function scryptCostOf(encoded: string): ScryptCost | undefined {
  return parseScrypt(encoded)?.cost;
}

function parseScrypt(encoded: string): ParsedScrypt | undefined {
  const match = /^\$scrypt\$ln=(\d{1,3}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
  if (match === null) return undefined;
  const cost: ScryptCost = { ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) };
  const salt = fromBase64(match[4] ?? '');
  const key = fromBase64(match[5] ?? '');
  if (!acceptableCost(cost) || salt === undefined || key === undefined) return undefined;
  // scrypt output is prefix-consistent across lengths, so a truncated key would still
  // verify; only the length we write is accepted.
  if (key.length !== KEY_BYTES || salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) return undefined;
  return { cost, salt, key };
}

function acceptableCost({ ln, r, p }: ScryptCost): boolean {
  const whole = Number.isInteger(ln) && Number.isInteger(r) && Number.isInteger(p);
  return whole && ln >= 1 && ln <= MAX_LN && r >= 1 && r <= MAX_R && p >= 1 && p <= MAX_P && memoryFor({ ln, r, p }) <= MAX_MEMORY;
}

/** OpenSSL needs 128·r·(N+2) bytes for V plus 128·r·p for B; a little slack on top. */
function memoryFor({ ln, r, p }: ScryptCost): number {
  return 128 * r * (2 ** ln + 2 + p) + 64 * 1024;
}

function derive(password: string, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  const options = { N: 2 ** cost.ln, r: cost.r, p: cost.p, maxmem: memoryFor(cost) };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

function base64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Rejects non-canonical text, whose spare low bits would let two strings mean one key. */
function fromBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return base64(bytes) === text ? bytes : undefined;
}
