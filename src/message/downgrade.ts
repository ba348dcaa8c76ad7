/**
 * Downgrading a message whose header fields hold raw UTF-8 (RFC 6532, SMTPUTF8 mail) for a
 * POP3 client that did not say UTF8 (RFC 6856 section 4, in the manner of RFC 6857): the
 * header is rewritten in ASCII and the body is sent as it is.
 *
 * - Unstructured fields (Subject, Comments, Content-Description, X- and other unknown
 *   fields) become RFC 2047 encoded words.
 * - Address fields (From, To, Cc, Reply-To, Sender, Bcc, their Resent- forms,
 *   Disposition-Notification-To): a non-ASCII display name becomes an encoded word; a
 *   mailbox whose address itself is not ASCII becomes an empty group whose display name is
 *   the encoded original (`=?UTF-8?B?...?= :;`, RFC 6857 section 3.1.x).
 * - Content-Type and Content-Disposition: non-ASCII parameter values get RFC 2231 encoding.
 * - Other structured fields (Message-ID, References, Received, Return-Path, ...) cannot be
 *   rewritten without changing what they mean: they are kept, encoded, as `Downgraded-NAME`
 *   (the RFC 6857 field names for the ones it registers).
 *
 * A header that is not valid UTF-8 cannot be downgraded at all: downgradeHeader returns null,
 * and the caller sends noticeFor() instead, an ASCII message carrying the original.
 */

const MAX_LINE = 76;

/** Whether a header block (the bytes up to the empty line) holds any octet above 0x7F. */
export function hasRawUtf8(header: Uint8Array): boolean {
  for (const byte of header) if (byte > 0x7f) return true;
  return false;
}

const ADDRESS_FIELDS = new Set([
  'from', 'sender', 'reply-to', 'to', 'cc', 'bcc',
  'resent-from', 'resent-sender', 'resent-to', 'resent-cc', 'resent-bcc', 'disposition-notification-to',
]);
const UNSTRUCTURED_FIELDS = new Set(['subject', 'comments', 'content-description', 'keywords']);
const PARAMETER_FIELDS = new Set(['content-type', 'content-disposition']);
/** Structured fields every reader knows; anything else unknown is taken as unstructured text. */
const STRUCTURED_FIELDS = new Set([
  'date', 'message-id', 'in-reply-to', 'references', 'received', 'return-path', 'resent-date', 'resent-message-id',
  'mime-version', 'content-transfer-encoding', 'content-id', 'content-language', 'content-location',
  'original-recipient', 'final-recipient', 'list-id', 'list-post', 'list-unsubscribe', 'list-help', 'authentication-results',
  'dkim-signature', 'arc-seal', 'arc-message-signature', 'arc-authentication-results', 'delivered-to', 'envelope-to', 'x-original-to',
]);

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * The header block (without the empty line that ends it; LF or CRLF line ends) rewritten in
 * ASCII with CRLF line ends, each field ending in CRLF; null when it is not UTF-8.
 */
export function downgradeHeader(header: Uint8Array): string | null {
  let text: string;
  try {
    text = decoder.decode(header);
  } catch {
    return null;
  }
  const out: string[] = [];
  for (const field of splitFields(text)) {
    const colon = field.indexOf(':');
    if (colon <= 0 || isAsciiText(field)) {
      // Lines that are not fields pass as they are only when ASCII; otherwise nothing can be done.
      if (!isAsciiText(field)) return null;
      out.push(`${field.replace(/\r?\n/g, '\r\n')}\r\n`);
      continue;
    }
    const name = field.slice(0, colon);
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) return null;
    const value = unfold(field.slice(colon + 1)).trim();
    out.push(downgradeField(name, value));
  }
  return out.join('');
}

function downgradeField(name: string, value: string): string {
  const key = name.toLowerCase();
  if (ADDRESS_FIELDS.has(key)) return fold(name, downgradeAddresses(value));
  if (PARAMETER_FIELDS.has(key)) {
    const parameters = downgradeParameters(value);
    if (parameters !== null) return fold(name, parameters);
  } else if (UNSTRUCTURED_FIELDS.has(key) || !STRUCTURED_FIELDS.has(key)) {
    return fold(name, encodeText(value));
  }
  // RFC 6857 section 3: keep what cannot be rewritten, under a Downgraded- name.
  const downgradedName = key === 'return-path' ? 'Downgraded-Mail-From' : `Downgraded-${name}`;
  return fold(downgradedName, encodeText(value));
}

/** Fields with their continuation lines. */
function splitFields(text: string): string[] {
  const fields: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if ((line[0] === ' ' || line[0] === '\t') && fields.length > 0) fields[fields.length - 1] += `\n${line}`;
    else fields.push(line);
  }
  return fields;
}

function unfold(value: string): string {
  return value.replace(/\r?\n(?=[ \t])/g, '');
}

function isAsciiText(text: string): boolean {
  return /^[\x00-\x7f]*$/.test(text);
}

/** RFC 2047 B-encoded words of at most 75 characters, never splitting a character. */
function encodedWords(text: string): string[] {
  const words: string[] = [];
  let chunk = '';
  // 75 - "=?UTF-8?B?" - "?=" leaves 63 base64 characters: 45 octets.
  for (const ch of text) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 45) {
      words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk !== '') words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
  return words;
}

/**
 * Text with non-ASCII words as encoded words. Runs of ASCII words stay readable; adjacent
 * encoded words are joined by white space, which RFC 2047 readers drop between them, so
 * the spaces inside a run are encoded with it.
 */
function encodeText(text: string): string[] {
  const tokens = text.split(/(\s+)/);
  const out: string[] = [];
  let pending = '';
  const flush = (): void => {
    if (pending !== '') out.push(...encodedWords(pending));
    pending = '';
  };
  for (let i = 0; i < tokens.length; i += 2) {
    const word = tokens[i] ?? '';
    const space = tokens[i + 1] ?? '';
    // An ASCII word that looks like an encoded word must be encoded too, or a reader would decode it.
    if (isAsciiText(word) && !/=\?.*\?=/.test(word)) {
      if (pending !== '') flush();
      if (word !== '') out.push(word);
    } else {
      pending += word;
      const next = tokens[i + 2] ?? '';
      if (space !== '' && !(isAsciiText(next) && !/=\?.*\?=/.test(next))) pending += space;
    }
  }
  flush();
  return out;
}

/** Folds `Name: word word ...` at white space to lines of at most 76 characters. */
function fold(name: string, words: readonly string[]): string {
  let line = `${name}:`;
  let out = '';
  for (const word of words) {
    if (line.length + 1 + word.length > MAX_LINE && line.trim() !== `${name}:`) {
      out += `${line}\r\n`;
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  return `${out}${line}\r\n`;
}

/** Splits at commas (or `sep`) outside quotes, comments and angle brackets. */
function splitTopLevel(value: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let angle = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (c === '<' && depth === 0) angle = true;
    else if (c === '>' && depth === 0) angle = false;
    else if (c === sep && depth === 0 && !angle) {
      parts.push(value.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(value.slice(start));
  return parts;
}

function downgradeAddresses(value: string): string[] {
  const words: string[] = [];
  const mailboxes = splitTopLevel(value, ',').map((m) => m.trim()).filter((m) => m !== '');
  mailboxes.forEach((mailbox, i) => {
    const converted = downgradeMailbox(mailbox);
    if (i < mailboxes.length - 1) converted[converted.length - 1] += ',';
    words.push(...converted);
  });
  return words;
}

function downgradeMailbox(mailbox: string): string[] {
  if (isAsciiText(mailbox)) return mailbox.split(/\s+/);
  // A group: its display name, then its members, then ';'.
  const group = /^([^<>"]*?|"(?:[^"\\]|\\.)*")\s*:(.*);\s*$/s.exec(mailbox);
  if (group !== null) {
    const members = downgradeAddresses(group[2] as string);
    return [...displayName(group[1] as string, ':'), ...members, ';'];
  }
  const angle = /^(.*?)\s*<([^<>]*)>\s*$/s.exec(mailbox);
  const address = angle === null ? mailbox : (angle[2] as string);
  if (!isAsciiText(address)) {
    // RFC 6857: an address that is not ASCII cannot be sent; an empty group named after the
    // original mailbox keeps it visible to the reader.
    return [...encodedWords(mailbox), ':;'];
  }
  const display = angle === null ? '' : (angle[1] as string);
  return [...displayName(display, ''), `<${address}>`];
}

function displayName(raw: string, suffix: string): string[] {
  let text = raw.trim();
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) text = text.slice(1, -1).replace(/\\(.)/g, '$1');
  if (text === '') return suffix === '' ? [] : [suffix];
  const words = isAsciiText(text) ? [raw.trim()] : encodedWords(text);
  if (suffix !== '') words[words.length - 1] += suffix;
  return words;
}

/** `type/subtype; a=b; name="é"` with RFC 2231 values where they are not ASCII; null if the rest is not ASCII. */
function downgradeParameters(value: string): string[] | null {
  const [head, ...parameters] = splitTopLevel(value, ';').map((p) => p.trim());
  if (head === undefined || !isAsciiText(head)) return null;
  const words = [`${head}${parameters.length > 0 ? ';' : ''}`];
  for (const [i, parameter] of parameters.entries()) {
    const eq = parameter.indexOf('=');
    const attribute = eq < 0 ? '' : parameter.slice(0, eq).trim();
    let v = eq < 0 ? '' : parameter.slice(eq + 1).trim();
    if (attribute === '' || !isAsciiText(attribute)) return null;
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    const encoded = isAsciiText(parameter) ? parameter : `${attribute.replace(/\*$/, '')}*=utf-8''${percentEncode(v)}`;
    words.push(`${encoded}${i < parameters.length - 1 ? ';' : ''}`);
  }
  return words;
}

function percentEncode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9!#$&+\-.^_`|~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The ASCII message sent instead of one whose header cannot be downgraded: a short text and
 * the original as a message/global attachment (RFC 6532 allows base64 for it). Its parts
 * before and after the base64 lines are fixed, so its size follows from the original's
 * wire size alone (noticeSize) and LIST can tell it without reading the message.
 */
export const NOTICE_BOUNDARY = '=_postel_utf8_original';

export const NOTICE_HEAD = [
  'From: Mail System <MAILER-DAEMON>',
  'Subject: A message with UTF-8 header fields (attached)',
  'MIME-Version: 1.0',
  `Content-Type: multipart/mixed; boundary="${NOTICE_BOUNDARY}"`,
  '',
  `--${NOTICE_BOUNDARY}`,
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'This message has header fields in UTF-8 that could not be converted for a',
  'mail program without UTF-8 support (RFC 6856). The original message is',
  'attached; a program that sends the POP3 command UTF8 receives it as it is.',
  '',
  `--${NOTICE_BOUNDARY}`,
  'Content-Type: message/global',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: attachment; filename="original.u8msg"',
  '',
  '',
].join('\r\n');

export const NOTICE_TAIL = `--${NOTICE_BOUNDARY}--\r\n`;

/** Octets of base64 per line of the attachment: 57 give 76 characters. */
export const NOTICE_LINE_OCTETS = 57;

/** The notice's wire size for an original of `wireSize` octets (its CRLF form). */
export function noticeSize(wireSize: number): number {
  const fullLines = Math.floor(wireSize / NOTICE_LINE_OCTETS);
  const rest = wireSize % NOTICE_LINE_OCTETS;
  const base64 = fullLines * 78 + (rest === 0 ? 0 : Math.ceil(rest / 3) * 4 + 2);
  return NOTICE_HEAD.length + base64 + NOTICE_TAIL.length;
}
