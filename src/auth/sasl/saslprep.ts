/*
 * SASLprep (RFC 4013), the stringprep (RFC 3454) profile SCRAM applies to user names and
 * passwords, so that a password typed as "é" in NFC on one client and NFD on another gives
 * the same keys. RFC 3454 is pinned to Unicode 3.2; this uses the Unicode version of the
 * running Node for normalization and for "unassigned", and approximates the bidi classes
 * with scripts (JavaScript regexes have no Bidi_Class property). For the strings people
 * use as names and passwords the results agree.
 */

export class SaslprepError extends Error {
  override readonly name = 'SaslprepError';
  constructor(readonly problem: string) {
    super(`SASLprep: ${problem}`);
  }
}

/** Stored strings (passwords when keys are derived) may not hold unassigned code points; queries may. */
export type SaslprepKind = 'stored' | 'query';

/** RFC 3454 C.1.2, mapped to SPACE. */
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/gu;
/** RFC 3454 B.1, mapped to nothing. */
const MAPPED_TO_NOTHING = /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/gu;

/** RFC 4013 section 2.3: C.2.1, C.2.2, C.3 to C.9 (C.1.2 is gone after mapping). */
const PROHIBITED = new RegExp(
  '[' +
    [
      '\\u0000-\\u001F\\u007F', // C.2.1 ASCII control
      '\\u0080-\\u009F\\u06DD\\u070F\\u180E\\u200C\\u200D\\u2028\\u2029\\u2060-\\u2063\\u206A-\\u206F\\uFEFF\\uFFF9-\\uFFFC\\u{1D173}-\\u{1D17A}', // C.2.2
      '\\uE000-\\uF8FF\\u{F0000}-\\u{FFFFD}\\u{100000}-\\u{10FFFD}', // C.3 private use
      '\\uFDD0-\\uFDEF\\uFFFE\\uFFFF', // C.4 non-characters in the BMP; the other planes below
      '\\uD800-\\uDFFF', // C.5 surrogates (only lone ones survive into a JS string)
      '\\uFFF9-\\uFFFD', // C.6 inappropriate for plain text
      '\\u2FF0-\\u2FFB', // C.7 inappropriate for canonical representation
      '\\u0340\\u0341\\u200E\\u200F\\u202A-\\u202E\\u206A-\\u206F', // C.8 display properties
      '\\u{E0001}\\u{E0020}-\\u{E007F}', // C.9 tagging
    ].join('') +
    ']',
  'u',
);

const RTL_SCRIPT = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}]/u;
const UNASSIGNED = /\p{Cn}/u;

/** The prepared string; throws SaslprepError for prohibited characters or bad bidi. */
export function saslprep(input: string, kind: SaslprepKind = 'query'): string {
  const mapped = input.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '');
  // Lone surrogates would be replaced silently by normalize(); check before.
  if (/\p{Cs}/u.test(mapped)) throw new SaslprepError('lone surrogate');
  const normalized = mapped.normalize('NFKC');
  const chars = [...normalized];
  for (const ch of chars) {
    const code = ch.codePointAt(0) ?? 0;
    if (PROHIBITED.test(ch) || (code & 0xfffe) === 0xfffe) throw new SaslprepError(`prohibited character U+${hex(code)}`);
    if (kind === 'stored' && UNASSIGNED.test(ch)) throw new SaslprepError(`unassigned code point U+${hex(code)}`);
  }
  checkBidi(chars);
  return normalized;
}

/**
 * SASLprep for deriving keys from a password, falling back to the password as typed when
 * it cannot be prepared. Clients differ here; PostgreSQL and most SCRAM libraries fall back
 * like this, so a password with, say, a control character still works with them.
 */
export function saslprepPassword(password: string): string {
  try {
    const prepared = saslprep(password, 'stored');
    return prepared === '' ? password : prepared;
  } catch (error) {
    if (error instanceof SaslprepError) return password;
    throw error;
  }
}

/** RFC 3454 section 6. */
function checkBidi(chars: readonly string[]): void {
  if (!chars.some(isRandAL)) return;
  if (chars.some(isL)) throw new SaslprepError('mixes right-to-left and left-to-right text');
  if (!isRandAL(chars[0] ?? '') || !isRandAL(chars[chars.length - 1] ?? '')) {
    throw new SaslprepError('right-to-left text must start and end with a right-to-left character');
  }
}

/** Bidi R and AL, approximated by the letters of the right-to-left scripts. */
function isRandAL(ch: string): boolean {
  return RTL_SCRIPT.test(ch) && /\p{L}/u.test(ch);
}

/** Bidi L, approximated by every other letter and spacing mark. */
function isL(ch: string): boolean {
  return /[\p{L}\p{Mc}]/u.test(ch) && !isRandAL(ch);
}

function hex(code: number): string {
  return code.toString(16).toUpperCase().padStart(4, '0');
}
