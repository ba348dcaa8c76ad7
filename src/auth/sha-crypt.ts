import { createHash, type Hash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/*
 * SHA-crypt ($5$ and $6$) as specified in Ulrich Drepper's "Unix crypt using SHA-256 and
 * SHA-512", which glibc implements. Settings are read the way glibc reads them (rounds are
 * clamped, not rejected; the salt is any bytes up to '$', at most 16), because stored
 * hashes written by glibc systems must keep verifying.
 */

const ROUNDS_DEFAULT = 5000;
const ROUNDS_MIN = 1000;
const ROUNDS_MAX = 999_999_999;
const SALT_MAX_BYTES = 16;
/** The rounds loop yields to the event loop this often so a slow hash does not stall other sessions. */
const ROUNDS_PER_SLICE = 1000;

const ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export interface ShaCryptVariant {
  readonly prefix: '$5$' | '$6$';
  readonly algorithm: 'sha256' | 'sha512';
  readonly digestLength: number;
}

const SHA256: ShaCryptVariant = { prefix: '$5$', algorithm: 'sha256', digestLength: 32 };
const SHA512: ShaCryptVariant = { prefix: '$6$', algorithm: 'sha512', digestLength: 64 };

export interface ShaCryptSetting {
  readonly variant: ShaCryptVariant;
  readonly rounds: number;
  /** Whether the setting named its rounds; glibc then repeats them in the output. */
  readonly customRounds: boolean;
  readonly salt: Buffer;
}

/** Parses `$5$[rounds=N$]salt[$...]` or `$6$...`; undefined if it is neither. */
export function parseShaCryptSetting(setting: string): ShaCryptSetting | undefined {
  const variant = setting.startsWith(SHA512.prefix) ? SHA512 : setting.startsWith(SHA256.prefix) ? SHA256 : undefined;
  if (variant === undefined) return undefined;
  let rest = setting.slice(variant.prefix.length);
  let rounds = ROUNDS_DEFAULT;
  let customRounds = false;
  const match = /^rounds=(\d+)\$/.exec(rest);
  if (match !== null) {
    const digits = match[1] ?? '';
    // strtoul saturates on overflow and the result is clamped anyway, so long digit strings
    // need no exact value.
    const requested = digits.length > 10 ? ROUNDS_MAX : Number(digits);
    rounds = Math.max(ROUNDS_MIN, Math.min(ROUNDS_MAX, requested));
    customRounds = true;
    rest = rest.slice(match[0].length);
  }
  const bytes = Buffer.from(rest, 'utf8');
  const dollar = bytes.indexOf(0x24);
  const salt = bytes.subarray(0, Math.min(dollar < 0 ? bytes.length : dollar, SALT_MAX_BYTES));
  return { variant, rounds, customRounds, salt };
}

/**
 * Computes the crypt string for `password` under `setting` (a full stored hash works as a
 * setting: everything after the salt is ignored). Returns bytes, not a string, because the
 * salt may end in the middle of a multi-byte character and callers compare byte for byte.
 */
export async function shaCrypt(password: string | Uint8Array, setting: ShaCryptSetting): Promise<Buffer> {
  const { variant, salt, rounds } = setting;
  const key = typeof password === 'string' ? Buffer.from(password, 'utf8') : Buffer.from(password);
  const hash = (): Hash => createHash(variant.algorithm);
  const size = variant.digestLength;

  const b = hash().update(key).update(salt).update(key).digest();

  const a = hash().update(key).update(salt);
  let remaining = key.length;
  for (; remaining > size; remaining -= size) a.update(b);
  a.update(b.subarray(0, remaining));
  for (let bits = key.length; bits > 0; bits >>= 1) a.update((bits & 1) !== 0 ? b : key);
  let c = a.digest();

  const dp = hash();
  for (let i = 0; i < key.length; i++) dp.update(key);
  const pSequence = repeatTo(dp.digest(), key.length);

  const ds = hash();
  for (let i = 0; i < 16 + (c[0] ?? 0); i++) ds.update(salt);
  const sSequence = repeatTo(ds.digest(), salt.length);

  for (let i = 0; i < rounds; i++) {
    if (i > 0 && i % ROUNDS_PER_SLICE === 0) await yieldToEventLoop();
    const round = hash();
    round.update((i & 1) !== 0 ? pSequence : c);
    if (i % 3 !== 0) round.update(sSequence);
    if (i % 7 !== 0) round.update(pSequence);
    round.update((i & 1) !== 0 ? c : pSequence);
    c = round.digest();
  }

  const head = variant.prefix + (setting.customRounds ? `rounds=${rounds}$` : '');
  return Buffer.concat([Buffer.from(head, 'latin1'), salt, Buffer.from('$' + encode(c, variant), 'latin1')]);
}

function repeatTo(block: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += block.length) block.copy(out, at, 0, Math.min(block.length, length - at));
  return out;
}

/**
 * The spec's base64 takes the digest bytes in a shuffled order: groups of three bytes
 * spaced a third of the digest apart, rotated by one position per group, then a short tail.
 */
function encode(digest: Buffer, variant: ShaCryptVariant): string {
  const at = (i: number): number => digest[i] ?? 0;
  const third = variant === SHA512 ? 21 : 10;
  let out = '';
  for (let i = 0; i < third; i++) {
    const x = at(i);
    const y = at(i + third);
    const z = at(i + 2 * third);
    const rotation = i % 3;
    if (variant === SHA512) {
      out += rotation === 0 ? b64(x, y, z, 4) : rotation === 1 ? b64(y, z, x, 4) : b64(z, x, y, 4);
    } else {
      out += rotation === 0 ? b64(x, y, z, 4) : rotation === 1 ? b64(z, x, y, 4) : b64(y, z, x, 4);
    }
  }
  return variant === SHA512 ? out + b64(0, 0, at(63), 2) : out + b64(0, at(31), at(30), 3);
}

function b64(high: number, middle: number, low: number, chars: number): string {
  let word = (high << 16) | (middle << 8) | low;
  let out = '';
  for (let i = 0; i < chars; i++) {
    out += ALPHABET[word & 0x3f];
    word >>>= 6;
  }
  return out;
}
