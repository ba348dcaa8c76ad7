import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writeAll } from '../fs/durable.js';
import { isErrno } from '../fs/errno.js';
import { processAlive } from '../fs/lock-file.js';
import type { Logger } from '../log/logger.js';
import { headerBlockOf, readHeaderBlock } from './queue/dsn.js';

/** A new spool file; the directory is made when it is missing (first message, or removed since). */
async function openSpoolFile(dir: string, path: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o600);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return open(path, 'wx', 0o600);
}

/** A received message, kept once (in memory, or on disk when large) while its copies are made. */
export interface SpooledMessage {
  /** Octets as received (CRLF line ends, dot-stuffing removed). */
  readonly size: number;
  /** Octets once stored with LF line ends, as the Maildir store keeps them (for quotas). */
  readonly storedSize: number;
  /** The client sent more than the limit; the rest was read and thrown away. */
  readonly oversized: boolean;
  /** The message with `prefix` (trace header fields) in front, streamed. */
  open(prefix: string): Readable;
  /** Its header block, as a bounce quotes it (readHeaderBlock). */
  header(): Promise<string>;
  remove(): Promise<void>;
}

/** What spool() reads: smtp-server's DATA stream (which flags a message over its size). */
export type DataStream = AsyncIterable<unknown> & { readonly sizeExceeded?: boolean };

/**
 * Messages up to this size stay in memory. Most mail is smaller, and a file for each would
 * be seven file-system calls per message (open, write, close, open, read, close, unlink):
 * on PostgreSQL, where the copies are not files either, a third of postel's CPU per
 * message in the bench's SMTP intake. Bounded by the number of SMTP sessions at once.
 */
export const SPOOL_IN_MEMORY = 64 * 1024;

/**
 * Reads the DATA stream, so a message for many recipients is received once and read back for
 * each copy; past SPOOL_IN_MEMORY octets it goes to a file under `dir`, so that memory stays
 * flat for any size. Once the stream says the size limit is exceeded, the rest is drained
 * without being kept. The file is not fsynced: until the client gets its 250 the message is
 * the client's responsibility.
 */
export async function spool(stream: DataStream, dir: string): Promise<SpooledMessage> {
  const held: Buffer[] = [];
  let file: { path: string; handle: FileHandle } | null = null;
  let size = 0;
  let crlf = 0;
  let lastWasCr = false;
  let oversized = false;
  let failure: unknown;
  // The stream is read to its end even after a write failed: smtp-server replies only once
  // the whole message has come in, and the client is waiting for that reply.
  try {
    for await (const chunk of stream) {
      const bytes = chunk instanceof Uint8Array ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length) : Buffer.from(String(chunk), 'utf8');
      if (oversized || failure !== undefined || stream.sizeExceeded === true) {
        oversized ||= stream.sizeExceeded === true;
        continue;
      }
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] === 0x0a && (i > 0 ? bytes[i - 1] === 0x0d : lastWasCr)) crlf++;
      }
      if (bytes.length > 0) lastWasCr = bytes[bytes.length - 1] === 0x0d;
      size += bytes.length;
      try {
        if (file === null && size <= SPOOL_IN_MEMORY) {
          // Copied: the stream may reuse its buffer.
          held.push(Buffer.from(bytes));
          continue;
        }
        if (file === null) {
          const path = join(dir, `${Date.now()}.${process.pid}.${randomBytes(6).toString('hex')}`);
          file = { path, handle: await openSpoolFile(dir, path) };
          for (const piece of held.splice(0)) await writeAll(file.handle, piece);
        }
        await writeAll(file.handle, bytes);
      } catch (err) {
        failure = err;
      }
    }
  } catch (err) {
    // The client went away mid-message.
    failure ??= err;
  }
  if (stream.sizeExceeded === true) oversized = true;
  const counts = { size, storedSize: size - crlf, oversized };
  if (file === null) {
    if (failure !== undefined) throw failure;
    const message = held.length === 1 ? (held[0] as Buffer) : Buffer.concat(held);
    return {
      ...counts,
      open: (prefix) => Readable.from(prefix === '' ? [message] : [Buffer.from(prefix, 'utf8'), message], { objectMode: false }),
      header: () => Promise.resolve(headerBlockOf(message)),
      remove: () => Promise.resolve(),
    };
  }
  const { path, handle } = file;
  if (failure !== undefined) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw failure;
  }
  await handle.close();
  return {
    ...counts,
    open: (prefix) => withPrefix(prefix, path),
    header: () => readHeaderBlock(path),
    remove: () => unlink(path).catch(() => undefined),
  };
}

/** No SMTP transaction lasts this long (timeouts end it first); older spool files are debris. */
const SPOOL_DEBRIS_AGE_MS = 24 * 3600 * 1000;

/**
 * Removes what a crash left in the spool: nothing there was ever acknowledged (the reply
 * comes after the copies are stored). Files are named TIME.PID.RANDOM; those of a process
 * still running on this host (another postel on the same data directory) are left alone
 * unless a day old. Returns how many were removed.
 */
export async function sweepSpool(dir: string, logger: Logger): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const pid = Number(/^\d+\.(\d+)\.[0-9a-f]+$/.exec(name)?.[1] ?? Number.NaN);
    try {
      const info = await lstat(path);
      if (!info.isFile()) continue;
      const old = Date.now() - info.mtimeMs > SPOOL_DEBRIS_AGE_MS;
      if (!old && Number.isSafeInteger(pid) && pid !== process.pid && processAlive(pid)) continue;
      await unlink(path);
      removed++;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) logger.warn({ err, path }, 'could not remove spool file');
    }
  }
  if (removed > 0) logger.warn({ event: 'spool_swept', dir, removed }, 'removed spool files of interrupted SMTP transactions (never acknowledged)');
  return removed;
}

/** `prefix` then the file's bytes, as one stream that the store consumes with backpressure. */
export function withPrefix(prefix: string, path: string): Readable {
  async function* bytes(): AsyncGenerator<Buffer> {
    if (prefix !== '') yield Buffer.from(prefix, 'utf8');
    yield* createReadStream(path) as AsyncIterable<Buffer>;
  }
  return Readable.from(bytes(), { objectMode: false });
}
