import { InvalidUserNameError, normalizeUserName } from './user-name.js';

/*
 * Dovecot passwd-file lines: `name:password:uid:gid:gecos:home:shell:extra_fields`, of which
 * only the first two matter here. Every line is kept as read so that a rewrite changes
 * nothing but the lines it means to change.
 */

export interface UserEntry {
  /** Canonical name (normalizeUserName of the first field): the maildrop directory. */
  readonly name: string;
  /** The stored secret, `{SCHEME}data` (or a bare crypt string). */
  readonly password: string;
  /** Fields after the password (uid, gid, gecos, home, shell, extra_fields), verbatim. */
  readonly extra: readonly string[];
}

export interface PasswdLine {
  /** The line exactly as read, without its '\n'. */
  readonly raw: string;
  /** Absent for blank lines, comments and lines whose name cannot be a user name. */
  readonly entry?: UserEntry;
}

export function parsePasswdLines(text: string): PasswdLine[] {
  const raws = text.split('\n');
  if (raws[raws.length - 1] === '') raws.pop();
  return raws.map(parseLine);
}

export function formatPasswdLines(lines: readonly PasswdLine[]): string {
  return lines.length === 0 ? '' : lines.map((line) => line.raw).join('\n') + '\n';
}

/** A new line for `name`. */
export function entryLine(name: string, password: string, extra: readonly string[] = []): PasswdLine {
  return { raw: [name, password, ...extra].join(':'), entry: { name, password, extra } };
}

/**
 * The same line with another password (and, if given, other fields after it); the name
 * field keeps its original spelling.
 */
export function withPassword(line: PasswdLine, password: string, extra: readonly string[] = line.entry?.extra ?? []): PasswdLine {
  const carriageReturn = line.raw.endsWith('\r') ? '\r' : '';
  const body = carriageReturn ? line.raw.slice(0, -1) : line.raw;
  const colon = body.indexOf(':');
  const nameField = colon < 0 ? body : body.slice(0, colon);
  return { raw: [nameField, password, ...extra].join(':') + carriageReturn, entry: line.entry && { ...line.entry, password, extra } };
}

/*
 * Dovecot's extra_fields: the 8th field on, space-separated `key=value` (or bare `key`)
 * items. In `extra` (the fields after the password) it starts at index 5; a ':' inside it
 * split it into several array items, which join back with ':'.
 */
const EXTRA_FIELDS_INDEX = 5;

/** The value of extra field `key`, or undefined when absent. */
export function extraFieldValue(extra: readonly string[], key: string): string | undefined {
  const prefix = `${key}=`;
  const item = extraFieldItems(extra).find((candidate) => candidate.startsWith(prefix));
  return item?.slice(prefix.length);
}

/**
 * `extra` with extra field `key` set to `value` (replacing any previous one), or removed
 * when `value` is undefined. Other fields and items are kept as they were; empty uid, gid,
 * gecos, home and shell fields are added when the line had none.
 */
export function withExtraField(extra: readonly string[], key: string, value: string | undefined): string[] {
  const prefix = `${key}=`;
  const items = extraFieldItems(extra);
  const kept = items.filter((item) => !item.startsWith(prefix));
  if (value === undefined && kept.length === items.length) return [...extra];
  if (value !== undefined) kept.push(`${prefix}${value}`);
  const head = Array.from({ length: EXTRA_FIELDS_INDEX }, (_, i) => extra[i] ?? '');
  const field = kept.join(' ');
  // Removing the only item from a line that had nothing else leaves no trail of colons.
  if (field === '' && head.every((f) => f === '')) return [];
  return [...head, field];
}

function extraFieldItems(extra: readonly string[]): string[] {
  const field = extra.slice(EXTRA_FIELDS_INDEX).join(':');
  return field === '' ? [] : field.split(' ').filter((item) => item !== '');
}

function parseLine(raw: string): PasswdLine {
  const body = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  // Dovecot skips lines that are empty or start with '#' or ':'.
  if (body.trim() === '' || body.startsWith('#') || body.startsWith(':')) return { raw };
  const [nameField = '', password = '', ...extra] = body.split(':');
  try {
    return { raw, entry: { name: normalizeUserName(nameField), password, extra } };
  } catch (error) {
    if (error instanceof InvalidUserNameError) return { raw };
    throw error;
  }
}
