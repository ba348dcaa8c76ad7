import { downgradeHeader, hasRawUtf8, NOTICE_HEAD, NOTICE_LINE_OCTETS, NOTICE_TAIL, noticeSize } from './downgrade.js';
import { wireSize } from './wire-size.js';
import type { StoredBytes } from './wire-source.js';

/**
 * What a POP3 client that did not say UTF8 gets of a stored message (RFC 6856): the message
 * as stored when its header is ASCII, else its header downgraded (src/message/downgrade.ts),
 * else a notice carrying it. A store records the size of that form once per message (Maildir
 * in its index when it first sees the file, PostgreSQL at delivery), judged on the first
 * HEAD_LIMIT octets of the message as stored; RETR and TOP build the same form again
 * (asciiStoredBytes) from the same octets, so LIST and RETR agree.
 */
export const HEAD_LIMIT = 64 * 1024;

export type AsciiForm =
  | { readonly kind: 'same' }
  | { readonly kind: 'header'; readonly header: string; readonly blankLine: boolean; readonly bodyStart: number; readonly size: number }
  | { readonly kind: 'notice'; readonly size: number };

/**
 * The size of the ASCII form of a message of `wire` octets on the wire whose stored form
 * starts with `head` (its first HEAD_LIMIT octets, or all of them): null when it is sent as
 * stored. `complete`: `head` is the whole message, which is shorter than HEAD_LIMIT.
 */
export function asciiSizeOf(head: Buffer, wire: number, complete: boolean): number | null {
  const form = asciiForm(head.subarray(0, HEAD_LIMIT), wire, complete);
  return form.kind === 'same' ? null : form.size;
}

/** The form for a message whose first bytes are `head` (all of it when `complete`). */
export function asciiForm(head: Buffer, wire: number, complete: boolean): AsciiForm {
  const end = headerEnd(head);
  const header = end === null ? head : head.subarray(0, end.header);
  if (!hasRawUtf8(header)) return { kind: 'same' };
  if (end === null && !complete) return { kind: 'notice', size: noticeSize(wire) };
  const ascii = downgradeHeader(header);
  if (ascii === null) return { kind: 'notice', size: noticeSize(wire) };
  const bodyStart = end === null ? head.length : end.body;
  const bodyWire = end === null ? 0 : wire - wireSize(head.subarray(0, bodyStart));
  const blankLine = end !== null;
  return { kind: 'header', header: ascii, blankLine, bodyStart, size: ascii.length + (blankLine ? 2 : 0) + bodyWire };
}

/** Where the header's empty line is: the header before it, the body after it. */
export function headerEnd(head: Buffer): { readonly header: number; readonly body: number } | null {
  if (head[0] === 10) return { header: 0, body: 1 };
  if (head[0] === 13 && head[1] === 10) return { header: 0, body: 2 };
  for (let i = head.indexOf(10); i >= 0 && i < head.length - 1; i = head.indexOf(10, i + 1)) {
    if (head[i + 1] === 10) return { header: i + 1, body: i + 2 };
    if (head[i + 1] === 13 && head[i + 2] === 10) return { header: i + 1, body: i + 3 };
  }
  return null;
}

/**
 * The stored bytes of the ASCII form, given the stored bytes as read: chunks in, chunks out,
 * so memory stays flat for the body (the header, at most HEAD_LIMIT, is held once).
 */
export function asciiStoredBytes(stored: StoredBytes, wire: number): StoredBytes {
  return { chunks: asciiChunks(stored, wire), close: () => stored.close() };
}

async function* asciiChunks(stored: StoredBytes, wire: number): AsyncGenerator<Buffer> {
  const iterator = stored.chunks[Symbol.asyncIterator]();
  const headChunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < HEAD_LIMIT) {
    const next = await iterator.next();
    if (next.done === true) {
      done = true;
      break;
    }
    // Stores may reuse a chunk's buffer for the next read: keep a copy.
    const copy = Buffer.from(next.value);
    headChunks.push(copy);
    length += copy.length;
  }
  const all = Buffer.concat(headChunks);
  // Judged on the same first HEAD_LIMIT octets as the size the store recorded, so both agree.
  const form = asciiForm(all.subarray(0, HEAD_LIMIT), wire, done && all.length < HEAD_LIMIT);
  if (form.kind === 'same') {
    yield all;
  } else if (form.kind === 'header') {
    yield Buffer.from(form.header + (form.blankLine ? '\r\n' : ''), 'latin1');
    yield all.subarray(form.bodyStart);
  } else {
    yield* notice(all, done ? null : iterator);
    return;
  }
  if (done) return;
  for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
}

/** NOTICE_HEAD, the original in its CRLF form as base64 lines, NOTICE_TAIL. */
async function* notice(first: Buffer, rest: AsyncIterator<Buffer> | null): AsyncGenerator<Buffer> {
  yield Buffer.from(NOTICE_HEAD, 'latin1');
  let pending = Buffer.alloc(0);
  let last = -1;
  const lines = function* (final: boolean): Generator<Buffer> {
    const whole = Math.floor(pending.length / NOTICE_LINE_OCTETS) * NOTICE_LINE_OCTETS;
    const take = final ? pending.length : whole;
    let out = '';
    for (let i = 0; i < take; i += NOTICE_LINE_OCTETS) out += `${pending.subarray(i, Math.min(i + NOTICE_LINE_OCTETS, take)).toString('base64')}\r\n`;
    pending = pending.subarray(take);
    if (out !== '') yield Buffer.from(out, 'latin1');
  };
  const add = (chunk: Uint8Array): void => {
    // LF to CRLF, as on the wire: the attachment is the message as RETR would send it.
    const parts: Buffer[] = [pending];
    let from = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === 10 && (i > 0 ? chunk[i - 1] : last) !== 13) {
        parts.push(Buffer.from(chunk.subarray(from, i)), Buffer.from('\r\n'));
        from = i + 1;
      }
    }
    parts.push(Buffer.from(chunk.subarray(from)));
    if (chunk.length > 0) last = chunk[chunk.length - 1] as number;
    pending = Buffer.concat(parts);
  };
  add(first);
  yield* lines(false);
  if (rest !== null) {
    for (let next = await rest.next(); next.done !== true; next = await rest.next()) {
      add(next.value);
      yield* lines(false);
    }
  }
  // RETR ends an unterminated last line with CRLF; so does the attachment.
  if (last !== 10 && last !== -1) pending = Buffer.concat([pending, Buffer.from('\r\n')]);
  yield* lines(true);
  yield Buffer.from(NOTICE_TAIL, 'latin1');
}
