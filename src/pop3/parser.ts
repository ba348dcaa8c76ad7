/**
 * A POP3 command line, parsed without I/O. Keywords are case-insensitive (RFC 1939
 * section 3); arguments are separated by single spaces, but runs of spaces are tolerated.
 */
export interface Command {
  /** Upper-cased keyword, e.g. "RETR". */
  readonly verb: string;
  readonly args: readonly string[];
  /**
   * Everything after the keyword and one space, unsplit: PASS takes it whole because a
   * password may contain spaces (RFC 1939 section 7).
   */
  readonly rest: string;
}

export type ParseResult = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly error: string };

const KEYWORD = /^[A-Za-z]{1,8}$/;

export function parseCommand(line: Buffer): ParseResult {
  for (const byte of line) {
    // Printable ASCII and space only: binary garbage or UTF-8 is refused before anything
    // interprets it, so a handler never sees control characters.
    if (byte < 0x20 || byte > 0x7e) return { ok: false, error: 'Invalid characters in command' };
  }
  const text = line.toString('latin1');
  const space = text.indexOf(' ');
  const keyword = space < 0 ? text : text.slice(0, space);
  if (!KEYWORD.test(keyword)) return { ok: false, error: keyword === '' ? 'Empty command' : 'Unknown command' };
  const rest = space < 0 ? '' : text.slice(space + 1);
  const args = rest.split(' ').filter((a) => a !== '');
  return { ok: true, command: { verb: keyword.toUpperCase(), args, rest } };
}

/** RFC 1939 message numbers: 1-based decimal, no sign, no leading '+'. */
export function parseMessageNumber(arg: string | undefined): number | undefined {
  if (arg === undefined || !/^[0-9]{1,10}$/.test(arg)) return undefined;
  const n = Number(arg);
  return n >= 1 && n <= 0x7fffffff ? n : undefined;
}

/** Non-negative decimal (TOP's line count). */
export function parseCount(arg: string | undefined): number | undefined {
  if (arg === undefined || !/^[0-9]{1,10}$/.test(arg)) return undefined;
  const n = Number(arg);
  return n <= 0x7fffffff ? n : undefined;
}
