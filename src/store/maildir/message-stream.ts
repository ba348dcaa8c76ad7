import type { FileHandle } from 'node:fs/promises';
import { closeSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { StoredBytes } from '../../message/wire-source.js';
import { openMessageFile, openMessageFileSync } from './message-file.js';

/**
 * Bytes per read of a message: larger than the stream default (64 KiB) so a large RETR costs
 * fewer reads, writes and event-loop turns; small enough that a session's buffers stay small.
 */
const READ_CHUNK = 256 * 1024;
const STREAM_CHUNK = 64 * 1024;

/** Messages below this size (known from their name) are read whole, in one read. */
export const WHOLE_READ_LIMIT = READ_CHUNK;

/** Messages from this size on are read into a reused buffer where framing copies each chunk. */
export const LARGE_MESSAGE = 1024 * 1024;
/** The framing kernel takes up to 256 KiB at once. */
const REUSED_READ = 256 * 1024;

/**
 * A message file as a stream. Most messages are small and their name tells their size
 * (`S=`), so they are read with one read of that size plus one byte: getting exactly S bytes
 * back is the end of the file, and the stream ends without a second read that returns
 * nothing, and without a 256 KiB buffer for 5 KiB of mail. When the name says nothing, or
 * the file does not have the size it says, the file is streamed from the start as usual.
 */
export async function messageStream(handle: FileHandle, sizeHint: number | undefined): Promise<Readable> {
  if (sizeHint !== undefined && sizeHint < WHOLE_READ_LIMIT) {
    let whole: Buffer | null;
    try {
      whole = await readWhole(handle, sizeHint);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
    if (whole) {
      // Closed in the background: the reply need not wait for it.
      handle.close().catch(() => undefined);
      return bufferStream(whole);
    }
  }
  // Large messages stream in 64 KB reads: bigger reads were faster but every chunk is garbage
  // until the next GC, and at 256 KB a 50 MB RETR raised the server's memory by ~40 MB.
  return handle.createReadStream({ start: 0, highWaterMark: STREAM_CHUNK });
}

/**
 * The whole file at `path` when it has exactly `size` bytes, else null (also when it cannot
 * be read: the caller then opens it the ordinary way and reports what is wrong).
 */
export async function readWholeFile(path: string, size: number): Promise<Buffer | null> {
  let handle: FileHandle;
  try {
    handle = await openMessageFile(path);
  } catch {
    return null;
  }
  try {
    return await readWhole(handle, size);
  } catch {
    return null;
  } finally {
    handle.close().catch(() => undefined);
  }
}

/** One read buffer for every blocking read of the process (see readWholeFileSync). */
let scratch: Buffer | null = null;

/**
 * readWholeFile with blocking calls, for files that are in the page cache (BlockingGuard).
 * With `reused`, the bytes are read into a buffer the next call overwrites: for a caller
 * that copies them out before it yields (RETR through the framing kernel), a read makes no
 * garbage.
 */
export function readWholeFileSync(path: string, size: number, reused = false): Buffer | null {
  const fd = openMessageFileSync(path);
  if (fd === undefined) return null;
  try {
    let buffer: Buffer;
    if (reused) {
      if (scratch === null || scratch.length < size + 1) scratch = Buffer.allocUnsafe(Math.max(size + 1, WHOLE_READ_LIMIT + 1));
      buffer = scratch;
    } else {
      buffer = Buffer.allocUnsafe(size + 1);
    }
    return readSync(fd, buffer, 0, size + 1, 0) === size ? buffer.subarray(0, size) : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

async function readWhole(handle: FileHandle, size: number): Promise<Buffer | null> {
  const buffer = Buffer.allocUnsafe(size + 1);
  const { bytesRead } = await handle.read(buffer, 0, size + 1, 0);
  return bytesRead === size ? buffer.subarray(0, size) : null;
}

export function bufferStream(bytes: Buffer): Readable {
  const stream = new Readable({ read: () => undefined });
  stream.push(bytes);
  stream.push(null);
  return stream;
}

/** A stream's chunks as StoredBytes. */
export function streamedBytes(stream: Readable): StoredBytes {
  return { chunks: stream as AsyncIterable<Buffer>, close: () => stream.destroy() };
}

/**
 * An open message file read into one buffer again and again: nothing is allocated per chunk,
 * so a large RETR makes no garbage. Each chunk is overwritten by the next read.
 */
export function reusedBufferReads(handle: FileHandle): StoredBytes {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    handle.close().catch(() => undefined);
  };
  async function* chunks(): AsyncGenerator<Buffer> {
    const input = Buffer.allocUnsafe(REUSED_READ);
    let position = 0;
    for (;;) {
      const { bytesRead } = await handle.read(input, 0, input.length, position);
      position += bytesRead;
      if (bytesRead === 0 || closed) return;
      yield input.subarray(0, bytesRead);
    }
  }
  return { chunks: chunks(), close };
}
