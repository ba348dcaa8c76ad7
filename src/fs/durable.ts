import { randomBytes } from 'node:crypto';
import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isErrno } from './errno.js';

/**
 * The only place that writes files durably. Every function here either completes (data and
 * directory entry fsynced) or throws having removed what it created, so a caller that sees
 * an error never leaves a half-written file behind.
 */

/** A single write may be short (e.g. just before the disk fills); loop until done. */
export async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten === 0) throw Object.assign(new Error('write made no progress'), { code: 'EIO' });
    offset += bytesWritten;
  }
}

/**
 * Copies a stream into `handle` through `transform` (e.g. CRLF to LF), awaiting every write:
 * the source is read only as fast as the disk takes it, so memory stays flat. Returns the
 * number of bytes written.
 */
export async function writeStream(
  handle: FileHandle,
  source: AsyncIterable<unknown>,
  transform: (chunk: Buffer) => Buffer = (c) => c,
  flush: () => Buffer = () => Buffer.alloc(0),
): Promise<number> {
  let written = 0;
  for await (const chunk of source) {
    const bytes = transform(toBuffer(chunk));
    await writeAll(handle, bytes);
    written += bytes.length;
  }
  const tail = flush();
  await writeAll(handle, tail);
  return written + tail.length;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError('stream must yield bytes or strings');
}

/**
 * Makes a new entry, rename or unlink in `dir` durable; without it a crash can undo it.
 * File systems that cannot fsync a directory (EINVAL) give the weaker guarantee they have.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    if (!isErrno(err, 'EINVAL', 'EISDIR')) throw err;
  } finally {
    await handle.close();
  }
}

export interface WriteOptions {
  /** Exact mode of the file (the umask does not apply). Default 0600. */
  readonly mode?: number;
  /** Gives the file to this user and group before it appears (root writing for a mail user). */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /**
   * replaceFileAtomic only: false skips both fsyncs, for a note whose loss in a crash harms
   * nothing (the time of a login): readers still see the old or the new file whole.
   */
  readonly sync?: boolean;
}

/** A name next to `path` that no other writer (process or call) picks. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

async function writeNew(path: string, data: string | Uint8Array, mode: number, owner?: WriteOptions['owner'], sync = true): Promise<void> {
  const handle = await open(path, 'wx', mode);
  try {
    // open() applies the umask; the mode must be exact (secrets inside).
    await handle.chmod(mode);
    if (owner !== undefined) await handle.chown(owner.uid, owner.gid);
    await writeAll(handle, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (sync) await handle.sync();
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
}

/** Creates `path` (it must not exist) with `data`, durably. Fails with EEXIST if it does. */
export async function writeFileDurable(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  await writeNew(path, data, options.mode ?? 0o600);
  try {
    await fsyncDir(dirname(path));
  } catch (err) {
    await unlink(path).catch(() => undefined);
    throw err;
  }
}

/**
 * Replaces `path` so that readers see the old or the new content, never a mix, and after a
 * crash the new content is fully there or not at all: a temp file in the same directory
 * (rename is atomic only within a file system), fsync, rename over, fsync the directory.
 */
export async function replaceFileAtomic(path: string, data: string | Uint8Array, options: WriteOptions = {}): Promise<void> {
  const temp = tempPathFor(path);
  await writeNew(temp, data, options.mode ?? 0o600, options.owner, options.sync !== false);
  try {
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  if (options.sync !== false) await fsyncDir(dirname(path));
}

/**
 * Creates `path` holding `content`, or returns false if it exists. The content is written
 * to a temp file first and hard-linked into place, so the file never exists empty or half
 * written: a process killed half-way leaves either nothing or a complete file.
 */
export async function createFileExclusive(path: string, content: string, options: WriteOptions = {}): Promise<boolean> {
  const temp = tempPathFor(path);
  await writeNew(temp, content, options.mode ?? 0o600);
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
