import { Readable } from 'node:stream';
import { headerValue } from '../../message/headers.js';

/** Headers beyond this are not looked at; the message itself is passed on untouched. */
const PEEK_LIMIT = 64 * 1024;

export interface Peeked {
  /** The start of the message, up to the end of its header block (at most 64 KiB). */
  readonly head: string;
  /** The whole message again, head included, still streaming from the source. */
  readonly message: Readable;
}

/**
 * Reads the header block of a streamed message without consuming the message: the
 * returned stream replays what was read, then continues from the source with its
 * backpressure intact.
 */
export async function peekHeader(source: Readable): Promise<Peeked> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  let ended = false;
  for (;;) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    length += next.value.length;
    const text = Buffer.concat(chunks).toString('latin1');
    if (/\r?\n\r?\n/.test(text) || length >= PEEK_LIMIT) break;
  }
  const head = Buffer.concat(chunks, length);
  async function* replay(): AsyncGenerator<Buffer> {
    let complete = ended;
    try {
      if (head.length > 0) yield head;
      while (!complete) {
        const next = await iterator.next();
        if (next.done) complete = true;
        else yield next.value;
      }
    } finally {
      // The consumer stopped early: stop the source too (a POP3 body then drains itself).
      if (!complete) await iterator.return?.();
    }
  }
  const text = head.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  return { head: end >= 0 ? text.slice(0, end) : text, message: Readable.from(replay(), { objectMode: false }) };
}

/**
 * The envelope sender for a From_ line or MAIL FROM: the address in Return-Path, '' for
 * the null sender "<>", or undefined when there is no usable Return-Path.
 */
export function envelopeSender(head: string): string | undefined {
  const value = headerValue(head, 'Return-Path');
  if (value === undefined) return undefined;
  const m = /^<([^<>\s]*)>/.exec(value.trim());
  if (!m) return undefined;
  const address = m[1] as string;
  // Only plain addresses: anything odd would break the From_ line or the SMTP command.
  return /^[\x21-\x7e]*$/.test(address) ? address : undefined;
}
