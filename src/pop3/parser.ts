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
  | { readonly verb: 'TOP'; readonly msg: number; readonly lines: number | null };

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

const KEYWORD = /^[A-Za-z]{1,8}$/;

/**
 * Parses one command line without I/O. Keywords are case-insensitive (RFC 1939 section 3);
 * arguments are separated by single spaces, but runs of spaces are tolerated.
 */
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
  const verb = keyword.toUpperCase();
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
