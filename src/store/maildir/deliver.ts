import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { WireSizeCounter } from '../../message/wire-size.js';
import type { DeliveryResult } from '../types.js';
import { makeUniqueName, storedFileName } from './file-names.js';
import { fsyncDir, writeAll } from '../../fs/durable.js';
import { isErrno } from '../../fs/errno.js';
import { toStoreError } from '../errors.js';
import { ensureMaildir, type MaildirLayout } from './layout.js';
import { CrlfToLf } from '../../message/line-ends.js';

/** Large in-memory messages are converted in slices so the copy stays small. */
const SLICE = 64 * 1024;

export interface DeliverOptions {
  readonly escapedHostname: string;
  readonly receivedAt?: Date;
  /** Header fields for this copy, written in front of the message. */
  readonly trace?: string | Uint8Array;
  /** Called with the stored size once the message is written; throwing abandons the delivery. */
  readonly beforeCommit?: (storedSize: number) => Promise<void>;
}

/**
 * The Maildir delivery protocol: write under tmp/, make it durable, then rename into new/.
 * A reader of new/ therefore only ever sees complete messages.
 */
export async function deliverToMaildir(
  layout: MaildirLayout,
  message: Readable | Uint8Array,
  options: DeliverOptions,
): Promise<DeliveryResult> {
  let handle: FileHandle | undefined;
  let tmpPath: string | undefined;
  let newPath: string | undefined;
  // The input can fail while the tmp file is still being opened, before anything reads it;
  // without a listener that error would crash the process. The loop below rethrows it.
  const ignoreEarlyError = (): void => undefined;
  if (!(message instanceof Uint8Array)) message.on('error', ignoreEarlyError);
  try {
    const created = await createTmpFile(layout, options.escapedHostname);
    handle = created.handle;
    tmpPath = created.path;
    const sizes = await writeMessage(handle, message, options.trace);
    await options.beforeCommit?.(sizes.stored);
    if (options.receivedAt !== undefined) {
      // Dovecot takes a maildir file's mtime as the message's received date.
      await handle.utimes(options.receivedAt, options.receivedAt);
    }
    await handle.sync();
    const closing = handle;
    handle = undefined;
    await closing.close();
    const target = join(layout.new, storedFileName(created.unique, sizes.stored, sizes.wire));
    await rename(tmpPath, target);
    newPath = target;
    await fsyncDir(layout.new);
    return { id: created.unique, size: sizes.wire };
  } catch (err) {
    if (handle !== undefined) await handle.close().catch(() => undefined);
    // After a failed directory fsync the rename might not survive a crash; taking the
    // message back keeps the promise that a rejected delivery left nothing behind.
    const leftover = newPath ?? tmpPath;
    if (leftover !== undefined) await unlink(leftover).catch(() => undefined);
    throw toStoreError(err, 'delivery failed');
  } finally {
    if (!(message instanceof Uint8Array)) message.off('error', ignoreEarlyError);
  }
}

async function createTmpFile(
  layout: MaildirLayout,
  escapedHostname: string,
): Promise<{ handle: FileHandle; path: string; unique: string }> {
  let ensured = false;
  for (let attempt = 0; ; attempt++) {
    const unique = makeUniqueName(escapedHostname);
    const path = join(layout.tmp, unique);
    try {
      return { handle: await open(path, 'wx', 0o600), path, unique };
    } catch (err) {
      // Directories are made lazily so the common case costs no extra system calls.
      if (isErrno(err, 'ENOENT') && !ensured) {
        ensured = true;
        await ensureMaildir(layout);
        continue;
      }
      // A clash needs a random collision on top of pid and counter; a new name settles it.
      if (isErrno(err, 'EEXIST') && attempt < 3) continue;
      throw err;
    }
  }
}

async function writeMessage(
  handle: FileHandle,
  message: Readable | Uint8Array,
  trace: string | Uint8Array | undefined,
): Promise<{ stored: number; wire: number }> {
  const converter = new CrlfToLf();
  const counter = new WireSizeCounter();
  let stored = 0;
  const emit = async (bytes: Buffer): Promise<void> => {
    if (bytes.length === 0) return;
    counter.push(bytes);
    stored += bytes.length;
    await writeAll(handle, bytes);
  };
  if (trace !== undefined) await emit(converter.push(toBytes(trace)));
  if (message instanceof Uint8Array) {
    for (let at = 0; at < message.length; at += SLICE) {
      await emit(converter.push(message.subarray(at, at + SLICE)));
    }
  } else {
    for await (const chunk of message as AsyncIterable<unknown>) {
      await emit(converter.push(toBytes(chunk)));
    }
  }
  await emit(converter.end());
  return { stored, wire: counter.size };
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError('message stream must yield bytes or strings');
}
