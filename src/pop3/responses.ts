// Writing answers to a transport, minding backpressure: every byte a session sends goes here.
import type { WireChunk, WireSource } from '../message/wire-source.js';
import type { Transport } from './transport.js';

/**
 * Multi-line answers are written in pieces of about this many characters: large enough
 * that a 100,000-line UIDL is a few writes rather than a hundred drain waits.
 */
const WRITE_BATCH = 256 * 1024;
const CR = 13;
const LF = 10;

/** One response line. */
export async function writeLine(transport: Transport, line: string): Promise<void> {
  if (transport.closed) return;
  if (!transport.write(`${line}\r\n`)) await transport.drained();
}

/** A multi-line response built by postel: the status line, the lines, and the terminating ".". */
export async function writeLines(transport: Transport, status: string, lines: Iterable<string>): Promise<void> {
  let batch = `${status}\r\n`;
  for (const line of lines) {
    // Lines built by postel never start with '.', but stuff anyway: the rule is cheap.
    batch += line.charCodeAt(0) === 46 ? `.${line}\r\n` : `${line}\r\n`;
    if (batch.length >= WRITE_BATCH) {
      if (transport.closed) return;
      if (!transport.write(batch)) await transport.drained();
      batch = '';
    }
  }
  await writeLine(transport, `${batch}.`);
}

/**
 * A multi-line response whose lines are framed already (a cached LIST or UIDL listing):
 * status, body and terminator leave in one corked write.
 */
export async function writeBody(transport: Transport, status: string, body: Uint8Array): Promise<void> {
  if (transport.closed) return;
  transport.cork();
  transport.write(`${status}\r\n`);
  transport.write(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  transport.write('.\r\n');
  transport.uncork();
  await transport.drained();
}

/**
 * A status line and a message from the store (RETR, TOP). Memory stays flat: each chunk is
 * written and, when the peer is slow, the next one is asked for only after the socket
 * drains. Rejects when the source fails; the status line may have gone out by then.
 */
export async function writeMessage(transport: Transport, status: string, source: WireSource): Promise<void> {
  try {
    const chunks = source.chunks;
    if (Array.isArray(chunks)) writeFramed(transport, status, chunks as readonly WireChunk[]);
    else await writeStreamed(transport, status, chunks);
  } finally {
    source.close();
  }
  await transport.drained();
}

/**
 * A message framed at once (a list): it is in memory already, so its pieces are written
 * without waiting between them. One piece with room before it takes the status line there:
 * the reply is one write of one buffer, the cheapest way through the socket's stream.
 */
function writeFramed(transport: Transport, status: string, chunks: readonly WireChunk[]): void {
  if (transport.closed) return;
  const only = chunks.length === 1 ? chunks[0] : undefined;
  if (only?.headroom !== undefined) {
    const line = Buffer.byteLength(status) + 2;
    if (line <= only.headroom) {
      const { bytes } = only;
      const reply = Buffer.from(bytes.buffer, bytes.byteOffset - line, line + bytes.length);
      reply.write(status, 0);
      reply[line - 2] = CR;
      reply[line - 1] = LF;
      transport.write(reply, only.release);
      return;
    }
  }
  transport.cork();
  transport.write(`${status}\r\n`);
  for (const chunk of chunks) transport.write(chunk.bytes, chunk.release);
  transport.uncork();
}

async function writeStreamed(transport: Transport, status: string, chunks: AsyncIterable<WireChunk> | Iterable<WireChunk>): Promise<void> {
  // Writes are corked and each piece is held until the next exists, so the status line
  // leaves with the first piece and the terminator with the last, without copying them.
  let held: WireChunk | null = null;
  transport.cork();
  try {
    transport.write(`${status}\r\n`);
    for await (const chunk of chunks) {
      if (transport.closed) break;
      if (held && !transport.write(held.bytes, held.release)) {
        transport.uncork();
        await transport.drained();
        transport.cork();
      } else if (held?.flush) {
        transport.uncork();
        transport.cork();
      }
      held = chunk;
    }
    if (held && !transport.closed) transport.write(held.bytes, held.release);
  } finally {
    transport.uncork();
  }
}
