import type { FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { link, open, unlink, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';

/**
 * Copies a stream into a file through `transform` (e.g. CRLF to LF), awaiting every write:
 * the source is read only as fast as the disk takes it, so memory stays flat.
 */
export async function streamToFile(source: Readable, handle: FileHandle, transform: (chunk: Buffer) => Buffer, flush: () => Buffer): Promise<number> {
  let written = 0;
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    const bytes = transform(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    await writeAll(handle, bytes);
    written += bytes.length;
  }
  const tail = flush();
  await writeAll(handle, tail);
  return written + tail.length;
}

/** A single write may be short (e.g. near a full disk); loop until all is written. */
export async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten === 0) throw new Error('write made no progress');
    offset += bytesWritten;
  }
}

/** Makes a rename or a new entry in `dir` durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/**
 * Creates `path` holding `content`, or returns false if it exists. The content is written
 * to a temporary file first and hard-linked into place, so the file never exists empty:
 * a process killed half-way leaves either no lock or a complete one naming it.
 */
export async function createExclusive(path: string, content: string, mode = 0o600): Promise<boolean> {
  const temp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temp, content, { mode, flag: 'wx' });
  try {
    await link(temp, path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}
