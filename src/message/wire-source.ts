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
}

/**
 * A message as the bytes of a POP3 multi-line response body (RFC 1939 section 3): CRLF line
 * ends, dot-stuffed, ending with the terminating ".\r\n". What a store hands a session for
 * RETR and TOP; the session only writes the chunks, in order, minding backpressure.
 */
export interface WireSource {
  readonly chunks: AsyncIterable<WireChunk>;
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

  frame(stored: StoredBytes): WireSource {
    return { chunks: this.chunks(stored), close: () => stored.close() };
  }

  private async *chunks(stored: StoredBytes): AsyncGenerator<WireChunk> {
    const stuffer = this.stuffer;
    // Large messages are framed into a few buffers that come back once written, instead of
    // a new one per chunk: hundreds of MB of garbage would make the process grow by tens of
    // MB before a collection, memory the allocator then keeps.
    const spare: Buffer[] = [];
    try {
      for await (const chunk of stored.chunks) {
        const pooled = stuffer.fillsBuffers && chunk.length >= POOLED_CHUNK;
        const buffer = pooled ? (spare.pop() ?? Buffer.allocUnsafe(FRAMED_CAPACITY)) : undefined;
        const bytes = stuffer.push(chunk, buffer);
        const inBuffer = buffer !== undefined && bytes.buffer === buffer.buffer;
        if (bytes.length > 0) yield inBuffer ? { bytes, release: () => void spare.push(buffer) } : { bytes };
        else if (buffer) spare.push(buffer);
        if (stuffer.done) break;
      }
    } finally {
      stored.close();
    }
    yield { bytes: stuffer.end() };
  }
}
