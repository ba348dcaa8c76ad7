import type { MessageInfo } from '../../store/types.js';
import type { CommandOf } from '../parser.js';
import type { TransactionState } from '../state.js';
import type { Handler } from './context.js';
import { listLines } from './list-lines.js';
import { countOfMessages, messageIndex } from './messages.js';

const octetsOf = new WeakMap<readonly MessageInfo[], number>();
const asciiOctetsOf = new WeakMap<readonly MessageInfo[], number>();

/**
 * What LIST, STAT and RETR count for a message: its size, or for a client that did not send
 * UTF8 the size of the ASCII form it gets (RFC 6856; MessageInfo.asciiSize).
 */
export function octetsFor(m: MessageInfo | undefined, utf8: boolean): number {
  if (m === undefined) return 0;
  return utf8 ? m.size : (m.asciiSize ?? m.size);
}

/**
 * The size of a whole maildrop, worked out once per message list: stores hand the same
 * list to every session of an unchanged maildrop, and a sum over 100,000 messages at each
 * login and STAT is measurable.
 */
export function maildropOctets(messages: readonly MessageInfo[], utf8: boolean): number {
  const cache = utf8 ? octetsOf : asciiOctetsOf;
  let octets = cache.get(messages);
  if (octets === undefined) {
    octets = 0;
    for (const m of messages) octets += octetsFor(m, utf8);
    cache.set(messages, octets);
  }
  return octets;
}

/** Totals over messages not marked deleted (RFC 1939: STAT and LIST skip them). */
function totals(state: TransactionState): { count: number; octets: number } {
  const messages = state.maildrop.messages;
  let count = messages.length;
  const utf8 = state.options.utf8;
  let octets = maildropOctets(messages, utf8);
  for (const i of state.deleted) {
    count--;
    octets -= octetsFor(messages[i], utf8);
  }
  return { count, octets };
}

export const stat: Handler<TransactionState, CommandOf<'STAT'>> = async (_command, state) => {
  const { count, octets } = totals(state);
  return { reply: `+OK ${count} ${octets}` };
};

/**
 * LIST and UIDL of a whole maildrop with nothing deleted, framed once per message list and
 * mode: a client polling an unchanged maildrop of 100,000 messages gets a buffer that is
 * already there instead of 100,000 lines built again (stores hand the same list to every
 * session while the maildrop is unchanged).
 */
const framedLists = new WeakMap<readonly MessageInfo[], Buffer>();
const framedAsciiLists = new WeakMap<readonly MessageInfo[], Buffer>();
const framedUidls = new WeakMap<readonly MessageInfo[], Buffer>();

function framed(cache: WeakMap<readonly MessageInfo[], Buffer>, messages: readonly MessageInfo[], value: (m: MessageInfo) => string | number): Buffer {
  let body = cache.get(messages);
  if (body === undefined) {
    const lines = new Array<string>(messages.length);
    // "n value": never starts with '.', so no line needs stuffing. UIDLs are 0x21-0x7E and
    // sizes digits, so latin1 is their exact encoding.
    for (let i = 0; i < messages.length; i++) lines[i] = `${i + 1} ${value(messages[i] as MessageInfo)}\r\n`;
    body = Buffer.from(lines.join(''), 'latin1');
    cache.set(messages, body);
  }
  return body;
}

/**
 * LIST's lines, `n size`: by list-lines.wat, or (no WebAssembly, a size past 32 bits) as
 * digits written straight into one buffer, no string per line. Either way fast on the first
 * LIST of a process, before the JIT has warmed up.
 */
function framedSizes(cache: WeakMap<readonly MessageInfo[], Buffer>, messages: readonly MessageInfo[], utf8: boolean): Buffer {
  let body = cache.get(messages);
  if (body === undefined) {
    body = listLines(messages.length, (into) => u32Sizes(messages, utf8, into)) ?? writtenSizes(messages, utf8);
    cache.set(messages, body);
  }
  return body;
}

/** Writes each message's LIST size into `into`; false at the first that does not fit in 32 bits. */
export function u32Sizes(messages: readonly MessageInfo[], utf8: boolean, into: Uint32Array): boolean {
  for (let i = 0; i < messages.length; i++) {
    const size = octetsFor(messages[i], utf8);
    if (size > 0xffff_ffff) return false;
    into[i] = size;
  }
  return true;
}

/** LIST's lines in JavaScript. */
export function writtenSizes(messages: readonly MessageInfo[], utf8: boolean): Buffer {
  // Two numbers of at most 16 digits (safe integers), a space and CRLF per line.
  const out = Buffer.allocUnsafe(messages.length * 35);
  let at = 0;
  for (let i = 0; i < messages.length; i++) {
    at = writeDecimal(out, at, i + 1);
    out[at++] = 32;
    at = writeDecimal(out, at, octetsFor(messages[i], utf8));
    out[at++] = 13;
    out[at++] = 10;
  }
  return Buffer.from(out.subarray(0, at));
}

/** Writes a non-negative safe integer in decimal at `at`; returns the offset after it. */
function writeDecimal(out: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = at + digits - 1; i >= at; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  return at + digits;
}

/** One line per message not marked deleted, `n value`, for LIST and UIDL. */
function* undeleted(state: TransactionState, value: (m: MessageInfo) => string | number): Generator<string> {
  const messages = state.maildrop.messages;
  const deleted = state.deleted;
  const none = deleted.size === 0;
  for (let i = 0; i < messages.length; i++) {
    if (none || !deleted.has(i)) yield `${i + 1} ${value(messages[i] as MessageInfo)}`;
  }
}

export const list: Handler<TransactionState, CommandOf<'LIST'>> = async ({ msg }, state) => {
  if (msg !== undefined) {
    const i = messageIndex(state, msg);
    return { reply: `+OK ${i + 1} ${octetsFor(state.maildrop.messages[i], state.options.utf8)}` };
  }
  const { count, octets } = totals(state);
  const status = `+OK ${countOfMessages(count)} (${octets} octets)`;
  const utf8 = state.options.utf8;
  if (state.deleted.size === 0) return { reply: { status, body: framedSizes(utf8 ? framedLists : framedAsciiLists, state.maildrop.messages, utf8) } };
  return { reply: { status, lines: undeleted(state, (m) => octetsFor(m, utf8)) } };
};

export const uidl: Handler<TransactionState, CommandOf<'UIDL'>> = async ({ msg }, state) => {
  if (msg !== undefined) {
    const i = messageIndex(state, msg);
    return { reply: `+OK ${i + 1} ${state.maildrop.messages[i]?.uid}` };
  }
  const status = '+OK Unique-ID listing follows';
  if (state.deleted.size === 0) return { reply: { status, body: framed(framedUidls, state.maildrop.messages, (m) => m.uid) } };
  return { reply: { status, lines: undeleted(state, (m) => m.uid) } };
};
