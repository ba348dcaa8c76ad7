import { decodeBase64 } from '../message/base64.js';

/**
 * A POP3 command with its arguments parsed (RFC 1939, RFC 2449, RFC 2595, RFC 5034). Handlers
 * receive exactly one member of this union and never look at the line again.
 */
export type Command =
  | { readonly verb: 'USER'; readonly name: string }
  /** The whole rest of the line: a password may contain spaces (RFC 1939 section 7); '' when absent. */
  | { readonly verb: 'PASS'; readonly password: string }
  /** `digest` is the 32 hex digits, lower-cased. */
  | { readonly verb: 'APOP'; readonly name: string; readonly digest: string }
  /**
   * No mechanism: list them. `initial` is the RFC 4954 initial response: undefined when
   * absent, empty for "=", null when it is not base64 (refused once the mechanism is checked).
   */
  | { readonly verb: 'AUTH'; readonly mechanism?: string; readonly initial?: Buffer | null }
  | { readonly verb: 'STLS' }
  | { readonly verb: 'CAPA' }
  | { readonly verb: 'QUIT' }
  | { readonly verb: 'STAT' }
  | { readonly verb: 'NOOP' }
  | { readonly verb: 'RSET' }
  | { readonly verb: 'LIST'; readonly msg?: number }
  | { readonly verb: 'UIDL'; readonly msg?: number }
  | { readonly verb: 'RETR'; readonly msg: number }
  | { readonly verb: 'DELE'; readonly msg: number }
  /**
   * `lines` is null when it is not a count: refused only after the message number is found
   * to name a message, as postel always answered.
   */
  | { readonly verb: 'TOP'; readonly msg: number; readonly lines: number | null }
  /** RFC 6856 section 3. */
  | { readonly verb: 'UTF8' }
  /** RFC 6856 section 2: no range lists the languages; `range` is an RFC 4647 language range, lower-cased. */
  | { readonly verb: 'LANG'; readonly range?: string };

export type Verb = Command['verb'];
export type CommandOf<V extends Verb> = Extract<Command, { readonly verb: V }>;

/**
 * A line that is not a command postel can run. `verb` is set when the keyword was readable:
 * the session then says whether the verb is valid in this state before it reports `error`
 * (an unknown keyword comes back as `{ verb, error: 'Unknown command' }`).
 */
export interface ParseError {
  readonly ok: false;
  readonly verb?: string;
  readonly error: string;
}

export type ParseResult = { readonly ok: true; readonly command: Command } | ParseError;

const KEYWORD = /^[A-Za-z][A-Za-z0-9]{0,7}$/;

/**
 * Parses one command line without I/O. Keywords are case-insensitive (RFC 1939 section 3);
 * arguments are separated by single spaces, but runs of spaces are tolerated.
 */
export function parseCommand(line: Buffer): ParseResult {
  let ascii = true;
  for (const byte of line) {
    // Printable characters and space only: binary garbage or control characters are refused
    // before anything interprets them, so a handler never sees them.
    if (byte < 0x20 || byte === 0x7f) return INVALID_CHARACTERS;
    if (byte > 0x7f) ascii = false;
  }
  let text: string;
  if (ascii) {
    text = line.toString('latin1');
  } else {
    // RFC 6856: UTF-8, and only where a user name or password goes; whether the session
    // accepts it there (after UTF8) is the handler's to say.
    const decoded = decodeUtf8(line);
    if (decoded === undefined || /[\u0080-\u009f]/u.test(decoded)) return INVALID_CHARACTERS;
    text = decoded;
  }
  const space = text.indexOf(' ');
  const keyword = space < 0 ? text : text.slice(0, space);
  if (!KEYWORD.test(keyword)) return { ok: false, error: keyword === '' ? 'Empty command' : 'Unknown command' };
  const verb = keyword.toUpperCase();
  if (!ascii && verb !== 'USER' && verb !== 'PASS') return { ...INVALID_CHARACTERS, verb };
  const rest = space < 0 ? '' : text.slice(space + 1);
  const args = rest.split(' ').filter((a) => a !== '');
  const parse = parsers[verb as Verb];
  if (!parse) return { ok: false, verb, error: 'Unknown command' };
  try {
    return { ok: true, command: parse(args, rest) };
  } catch (err) {
    if (err instanceof ArgumentError) return { ok: false, verb, error: err.message };
    throw err;
  }
}

const INVALID_CHARACTERS: ParseError = { ok: false, error: 'Invalid characters in command' };

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** RFC 4647 section 2.1 basic language range: `*` or 1*8ALPHA *("-" 1*8alphanum). */
const LANGUAGE_RANGE = /^(?:\*|[a-z]{1,8}(?:-[a-z0-9]{1,8})*)$/i;

class ArgumentError extends Error {}

type Parser = (args: readonly string[], rest: string) => Command;

const parsers: Record<Verb, Parser> = {
  USER: (args) => ({ verb: 'USER', name: arity(args, 1, 1)[0] as string }),
  PASS: (_args, rest) => ({ verb: 'PASS', password: rest }),
  APOP: (args) => {
    const [name, digest] = arity(args, 2, 2) as [string, string];
    if (!/^[0-9a-fA-F]{32}$/.test(digest)) throw new ArgumentError('Invalid digest');
    return { verb: 'APOP', name, digest: digest.toLowerCase() };
  },
  AUTH: (args) => {
    if (args.length === 0) return { verb: 'AUTH' };
    const [mechanism, initial] = arity(args, 1, 2) as [string, string | undefined];
    if (initial === undefined) return { verb: 'AUTH', mechanism: mechanism.toUpperCase() };
    return { verb: 'AUTH', mechanism: mechanism.toUpperCase(), initial: initial === '=' ? Buffer.alloc(0) : decodeBase64(initial) };
  },
  STLS: (args) => (arity(args, 0, 0), { verb: 'STLS' }),
  // RFC 2449 gives CAPA and QUIT no arguments; postel has always ignored any sent.
  CAPA: () => ({ verb: 'CAPA' }),
  QUIT: () => ({ verb: 'QUIT' }),
  STAT: (args) => (arity(args, 0, 0), { verb: 'STAT' }),
  NOOP: (args) => (arity(args, 0, 0), { verb: 'NOOP' }),
  RSET: (args) => (arity(args, 0, 0), { verb: 'RSET' }),
  LIST: (args) => (arity(args, 0, 1).length === 0 ? { verb: 'LIST' } : { verb: 'LIST', msg: messageNumber(args[0]) }),
  UIDL: (args) => (arity(args, 0, 1).length === 0 ? { verb: 'UIDL' } : { verb: 'UIDL', msg: messageNumber(args[0]) }),
  RETR: (args) => ({ verb: 'RETR', msg: messageNumber(arity(args, 1, 1)[0]) }),
  DELE: (args) => ({ verb: 'DELE', msg: messageNumber(arity(args, 1, 1)[0]) }),
  UTF8: (args) => (arity(args, 0, 0), { verb: 'UTF8' }),
  LANG: (args) => {
    const [range] = arity(args, 0, 1);
    if (range === undefined) return { verb: 'LANG' };
    if (!LANGUAGE_RANGE.test(range)) throw new ArgumentError('Invalid language range');
    return { verb: 'LANG', range: range.toLowerCase() };
  },
  TOP: (args) => {
    arity(args, 2, 2);
    return { verb: 'TOP', msg: messageNumber(args[0]), lines: parseCount(args[1]) ?? null };
  },
};

function arity(args: readonly string[], min: number, max: number): readonly string[] {
  if (args.length < min) throw new ArgumentError('Missing argument');
  if (args.length > max) throw new ArgumentError('Too many arguments');
  return args;
}

function messageNumber(arg: string | undefined): number {
  const n = parseMessageNumber(arg);
  if (n === undefined) throw new ArgumentError(arg === undefined ? 'Message number required' : 'Invalid message number');
  return n;
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
