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

/** The same line with another password; the name field keeps its original spelling. */
export function withPassword(line: PasswdLine, password: string): PasswdLine {
  const carriageReturn = line.raw.endsWith('\r') ? '\r' : '';
  const body = carriageReturn ? line.raw.slice(0, -1) : line.raw;
  const colon = body.indexOf(':');
  const nameField = colon < 0 ? body : body.slice(0, colon);
  const extra = line.entry?.extra ?? [];
  return { raw: [nameField, password, ...extra].join(':') + carriageReturn, entry: line.entry && { ...line.entry, password } };
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
