import { SaslError } from './types.js';

/**
 * RFC 4013 SASLprep, the part that matters for passwords and user names typed by people:
 * non-ASCII spaces become U+0020, "mapped to nothing" characters go, NFKC normalization,
 * and the prohibited characters (controls, private use, surrogates, non-characters) are
 * refused. Node has no stringprep tables; ASCII input, by far the common case, is exactly
 * what full SASLprep would produce, and so are precomposed Latin, Greek and CJK text.
 */
export function saslPrep(value: string): string {
  const mapped = value
    .replace(/[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g, ' ')
    .replace(/[\u00ad\u034f\u1806\u180b-\u180d\u200c\u200d\u2060\ufe00-\ufe0f\ufeff]/g, '')
    .normalize('NFKC');
  for (const char of mapped) {
    const cp = char.codePointAt(0) as number;
    if (isProhibited(cp)) throw new SaslError(`credentials contain a character SASLprep prohibits (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`);
  }
  return mapped;
}

function isProhibited(cp: number): boolean {
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return true;
  if (cp >= 0xd800 && cp <= 0xdfff) return true;
  if ((cp >= 0xe000 && cp <= 0xf8ff) || cp >= 0xf0000) return true;
  if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) === 0xfffe) return true;
  if (cp >= 0x2ff0 && cp <= 0x2ffb) return true;
  return cp === 0x2028 || cp === 0x2029 || (cp >= 0x200e && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x206a && cp <= 0x206f);
}
