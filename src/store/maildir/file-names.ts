import { randomBytes } from 'node:crypto';

/** Shared by all stores in the process so two stores never produce the same name. */
let deliveryCounter = 0;

/**
 * Characters that would break the Maildir name grammar: '/' is a path separator, ':'
 * starts the info part and ',' starts the S=/W= fields. Dovecot uses the same octal escapes.
 */
export function escapeHostname(hostname: string): string {
  return hostname.replace(/[/:,]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * Dovecot-style unique name `<secs>.M<usecs>P<pid>Q<counter>R<random>.<host>`: the
 * counter separates deliveries of this process within one microsecond, the random part
 * separates processes that share a pid (containers) or a clock that stepped back.
 */
export function makeUniqueName(escapedHostname: string): string {
  const micros = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const secs = Math.floor(micros / 1_000_000);
  const usecs = micros % 1_000_000;
  deliveryCounter++;
  const random = randomBytes(4).toString('hex');
  return `${secs}.M${usecs}P${process.pid}Q${deliveryCounter}R${random}.${escapedHostname}`;
}

/** The name in new/: S= lets Dovecot skip a stat, W= lets both of us skip reading the body. */
export function storedFileName(uniqueName: string, storedSize: number, wireSize: number): string {
  return `${uniqueName},S=${storedSize},W=${wireSize}`;
}

export interface ParsedFileName {
  /** Everything before the info part; stays the same when flags change or the file moves. */
  readonly basename: string;
  /** Maildir flags from a `:2,FLAGS` info part; empty when there is none. */
  readonly flags: string;
}

export function parseFileName(fileName: string): ParsedFileName {
  const colon = fileName.indexOf(':');
  if (colon < 0) return { basename: fileName, flags: '' };
  const info = fileName.slice(colon + 1);
  return { basename: fileName.slice(0, colon), flags: info.startsWith('2,') ? info.slice(2) : '' };
}

export function basenameOf(fileName: string): string {
  const colon = fileName.indexOf(':');
  return colon < 0 ? fileName : fileName.slice(0, colon);
}

/**
 * The wire size a name states, when it is one of postel's: postel's W= is exactly what RETR
 * sends. Dovecot writes W= too, but as its "virtual size", which for a message whose last
 * line lacks a line end is 2 less than the wire size (RETR adds a CRLF, LIST must count it);
 * for other names see virtualSizeFromName.
 */
export function wireSizeFromName(basename: string): number | undefined {
  return isPostelName(basename) ? sizeField(basename, 'W') : undefined;
}

/** The W= field of any name: the size with CRLF line ends, the last line as stored. */
export function virtualSizeFromName(basename: string): number | undefined {
  return sizeField(basename, 'W');
}

/** makeUniqueName's shape, which Dovecot's `<secs>.M<usecs>P<pid>.<host>` never has. */
function isPostelName(basename: string): boolean {
  return /^\d+\.M\d+P\d+Q\d+R[0-9a-f]{8}\./.test(basename);
}

/**
 * The delivery time, in microseconds, of a name in the Maildir convention
 * `<secs>.<unique>.<host>` whose unique part may hold `M<usecs>` (Dovecot, Postfix and
 * postel all write one): what Dovecot orders new messages by. Undefined for other names.
 */
export function deliveryTimeFromName(basename: string): number | undefined {
  const match = /^(\d{1,12})\.([^.]*)/.exec(basename);
  if (match === null) return undefined;
  const micros = /M(\d{1,6})(?!\d)/.exec(match[2] ?? '');
  return Number(match[1]) * 1_000_000 + (micros === null ? 0 : Number(micros[1]));
}

/** The S= field (the file's size) of a name, if it carries a well-formed one. */
export function storedSizeFromName(basename: string): number | undefined {
  return sizeField(basename, 'S');
}

function sizeField(basename: string, key: 'S' | 'W'): number | undefined {
  const fields = basename.split(',');
  for (let i = 1; i < fields.length; i++) {
    const field = fields[i] ?? '';
    if (field[0] !== key || field[1] !== '=') continue;
    const digits = field.slice(2);
    if (/^\d{1,15}$/.test(digits)) return Number(digits);
  }
  return undefined;
}

export function hasFlag(flags: string, flag: string): boolean {
  return flags.includes(flag);
}

/** The cur/ name with `flag` added; Maildir wants flags unique and in ASCII order. */
export function nameWithFlag(basename: string, flags: string, flag: string): string {
  const set = new Set(flags + flag);
  const sorted = [...set].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0)).join('');
  return `${basename}:2,${sorted}`;
}

/**
 * Orders names whose files share an mtime (file systems with coarse timestamps): digit
 * runs compare as numbers, so `1700000000.M9P1Q2` sorts before `1700000000.M10P1Q1`.
 */
export function compareFileNames(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(j);
    if (isDigit(ca) && isDigit(cb)) {
      const ei = digitRunEnd(a, i);
      const ej = digitRunEnd(b, j);
      const ra = a.slice(i, ei).replace(/^0+(?=\d)/, '');
      const rb = b.slice(j, ej).replace(/^0+(?=\d)/, '');
      if (ra.length !== rb.length) return ra.length - rb.length;
      if (ra !== rb) return ra < rb ? -1 : 1;
      i = ei;
      j = ej;
      continue;
    }
    if (ca !== cb) return ca - cb;
    i++;
    j++;
  }
  return a.length - i - (b.length - j);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function digitRunEnd(s: string, from: number): number {
  let k = from;
  while (k < s.length && isDigit(s.charCodeAt(k))) k++;
  return k;
}
