import { DotStuffer } from './dot-stuffer.js';
import { FRAMED_CAPACITY } from './framing-kernel.js';

/** One piece of a message on the wire. */
export interface WireChunk {
  readonly bytes: Buffer;
  /**
   * Set when `bytes` lives in a buffer the source reuses: call it once the bytes have been
   * handed to the operating system, and the buffer is filled again for a later chunk.
   */
  readonly release?: () => void;
  /** Send this chunk at once rather than gathering it with the next (the chaos switch's trickle). */
  readonly flush?: boolean;
  /**
   * Bytes of `bytes.buffer` just before `bytes` that belong to this chunk and that the writer
   * may fill: the status line goes there, and the reply leaves as one write of one buffer.
   */
  readonly headroom?: number;
}

/**
 * A message as the bytes of a POP3 multi-line response body (RFC 1939 section 3): CRLF line
 * ends, dot-stuffed, ending with the terminating ".\r\n". What a store hands a session for
 * RETR and TOP; the session only writes the chunks, in order, minding backpressure.
 */
export interface WireSource {
  /** Read with `for await`, which takes a plain list (a message framed at once) as well. */
  readonly chunks: AsyncIterable<WireChunk> | Iterable<WireChunk>;
  /** Stops reading (the connection went away); safe to call more than once. */
  close(): void;
}

/** A message's stored bytes as the store reads them. */
export interface StoredBytes {
  /** Each chunk may be overwritten once the next is asked for (a reused read buffer). */
  readonly chunks: AsyncIterable<Buffer>;
  close(): void;
}

/** Chunks this large are framed into reused buffers instead of new ones. */
const POOLED_CHUNK = 64 * 1024;

/** Room kept before a whole message's framing for the status line (responses.ts writes it). */
const STATUS_ROOM = 128;
/** Room after it for the terminator, CRLF and ".\r\n". */
const TERMINATOR_ROOM = 5;

/**
 * Output buffers of the kernel, each with room for the framing of one chunk
 * (FRAMED_CAPACITY) and the status line and terminator around it, shared by every RETR of
 * the process: a buffer comes back once its bytes are written. A RETR that allocated its own
 * would make ~100 KB of garbage per 50 KB message; in a young process, whose heap limits
 * are still small, collecting that was a quarter of the CPU of the first thousand RETRs.
 * At most KEPT_BUFFERS wait here (the RETRs in flight at once beyond that allocate).
 */
const KEPT_BUFFERS = 8;
const framedBuffers: Buffer[] = [];
const takeBuffer = (): Buffer => framedBuffers.pop() ?? Buffer.allocUnsafe(STATUS_ROOM + FRAMED_CAPACITY + TERMINATOR_ROOM);
const giveBack = (buffer: Buffer): void => {
  if (framedBuffers.length < KEPT_BUFFERS) framedBuffers.push(buffer);
};

/**
 * Frames stored bytes into wire bytes. A store makes one per RETR or TOP, asks `copiesInput`
 * to choose how to read (a reused read buffer is only safe when framing copies each chunk
 * out before the next read), and hands `frame(...)` to the session.
 */
export class MultilineFramer {
  private readonly stuffer: DotStuffer;

  /** `bodyLines`: TOP's count of body lines after the header; undefined for the whole message. */
  constructor(bodyLines?: number) {
    this.stuffer = new DotStuffer(bodyLines);
  }

  /** Whether each stored chunk is copied before the next is read (the WebAssembly kernel, RETR). */
  get copiesInput(): boolean {
    return this.stuffer.fillsBuffers;
  }

  /**
   * A whole message read in one piece, framed at once (no stream, no generator: the RETR of
   * a small message is this and one write). `stored` may be reused as soon as this returns.
   * With the kernel the framing and its terminator are one chunk in a pooled buffer, with
   * room before it for the status line.
   */
  frameWhole(stored: Buffer): WireSource {
    const stuffer = this.stuffer;
    const buffer = stuffer.fillsBuffers ? takeBuffer() : undefined;
    const bytes = stuffer.push(stored, buffer, STATUS_ROOM);
    const end = stuffer.end();
    if (buffer !== undefined && (bytes.length === 0 || bytes.buffer === buffer.buffer)) {
      const stop = STATUS_ROOM + bytes.length;
      buffer.set(end, stop);
      const chunk = { bytes: buffer.subarray(STATUS_ROOM, stop + end.length), release: () => giveBack(buffer), headroom: STATUS_ROOM };
      return { chunks: [chunk], close: () => undefined };
    }
    // JavaScript framing (no kernel), or a message too large for one buffer.
    if (buffer !== undefined) giveBack(buffer);
    return { chunks: bytes.length > 0 ? [{ bytes }, { bytes: end }] : [{ bytes: end }], close: () => undefined };
  }

  frame(stored: StoredBytes): WireSource {
    return { chunks: this.chunks(stored), close: () => stored.close() };
  }

  private async *chunks(stored: StoredBytes): AsyncGenerator<WireChunk> {
    const stuffer = this.stuffer;
    // Large messages are framed into buffers that come back once written, instead of a new
    // one per chunk: hundreds of MB of garbage would make the process grow by tens of MB
    // before a collection, memory the allocator then keeps.
    try {
      for await (const chunk of stored.chunks) {
        const pooled = stuffer.fillsBuffers && chunk.length >= POOLED_CHUNK;
        const buffer = pooled ? takeBuffer() : undefined;
        const bytes = stuffer.push(chunk, buffer);
        const inBuffer = buffer !== undefined && bytes.buffer === buffer.buffer;
        if (bytes.length > 0) yield inBuffer ? { bytes, release: () => giveBack(buffer) } : { bytes };
        else if (buffer) giveBack(buffer);
        if (stuffer.done) break;
      }
    } finally {
      stored.close();
    }
    yield { bytes: stuffer.end() };
  }
}
