import { saslprep, SaslprepError } from './sasl/saslprep.js';

/** A user name that could not serve as a maildrop directory name or passwd-file key. */
export class InvalidUserNameError extends Error {
  override readonly name = 'InvalidUserNameError';
  constructor(readonly problem: string) {
    // The raw name is not included: it may hold control characters, and logs are JSON lines
    // read by humans.
    super(`invalid user name: ${problem}`);
  }
}

const MAX_BYTES = 255;

/**
 * Validates a user name and returns its canonical form. The name becomes a directory under
 * DATA/mail/ and the key of a passwd-file line, so anything that could escape the directory
 * or break the line format is refused rather than escaped.
 *
 * For an address, the domain is lowercased (domains are case-insensitive, RFC 5321 2.4)
 * while the local part keeps its case (RFC 5321 lets the receiving host decide).
 */
export function normalizeUserName(input: string): string {
  if (input.length === 0) throw new InvalidUserNameError('empty');
  checkCharacters(input);
  const raw = prepareUnicode(input);
  if (raw.startsWith('.')) throw new InvalidUserNameError("starts with '.'");
  if (raw.includes('..')) throw new InvalidUserNameError("contains '..'");

  let name = raw;
  const at = raw.indexOf('@');
  if (at >= 0) {
    if (raw.indexOf('@', at + 1) >= 0) throw new InvalidUserNameError("more than one '@'");
    const local = raw.slice(0, at);
    const domain = raw.slice(at + 1);
    if (local.length === 0) throw new InvalidUserNameError("empty part before '@'");
    if (domain.length === 0) throw new InvalidUserNameError("empty domain after '@'");
    name = `${local}@${domain.toLowerCase()}`;
    // Lowercasing can change a string (e.g. U+0130 becomes two code points), so the checks
    // that matter for the file system run again on the result.
    checkCharacters(name);
    if (name.includes('..')) throw new InvalidUserNameError("contains '..'");
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_BYTES) {
    throw new InvalidUserNameError(`longer than ${MAX_BYTES} bytes`);
  }
  return name;
}

/**
 * Non-ASCII names get SASLprep (RFC 4013, what RFC 6856 asks of POP3 UTF-8 user names), so
 * that "josé" typed composed or decomposed, or with a full-width letter, is one user and one
 * maildrop; a name with characters SASLprep prohibits is refused. ASCII names are unchanged.
 */
function prepareUnicode(name: string): string {
  if (isAscii(name)) return name;
  let prepared: string;
  try {
    prepared = saslprep(name, 'stored');
  } catch (err) {
    if (err instanceof SaslprepError) throw new InvalidUserNameError(err.problem);
    throw err;
  }
  if (prepared.length === 0) throw new InvalidUserNameError('empty after Unicode normalization');
  // Mapping can bring in what the raw name lacked (e.g. a full-width solidus becomes '/').
  checkCharacters(prepared);
  return prepared;
}

export function isAscii(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}

function checkCharacters(name: string): void {
  for (const ch of name) {
    const code = ch.codePointAt(0) ?? 0;
    if (code <= 0x1f || code === 0x7f) throw new InvalidUserNameError('contains a control character');
    // A lone surrogate would be written to disk as U+FFFD, so two different names could
    // share one maildrop.
    if (code >= 0xd800 && code <= 0xdfff) throw new InvalidUserNameError('contains a lone surrogate');
    if (ch === '/' || ch === '\\') throw new InvalidUserNameError('contains a path separator');
    if (ch === ':') throw new InvalidUserNameError("contains ':'");
    if (/\s/u.test(ch)) throw new InvalidUserNameError('contains whitespace');
  }
}
