import { randomBytes } from 'node:crypto';
import { lstat, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { CrlfToLf } from '../../message/line-ends.js';
import { writeAll, writeFileDurable, writeStream } from '../../fs/durable.js';
import { errnoCode } from '../../fs/errno.js';
import { LockBusyError, LockFile } from '../../fs/lock-file.js';
import { envelopeSender, peekHeader } from './header-peek.js';
import { MboxrdQuoter } from './mboxrd.js';
import { DeliveryError, type Delivery, type Destination, type MessageMeta, type RecoveryOutcome, type RecoveryToken } from './types.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** A spooled copy of an interrupted append older than this belongs to no pending delivery. */
const SPOOL_MAX_AGE_MS = 30 * 86_400_000;
const COMPARE_SLICE = 64 * 1024;

/**
 * Appends to an mbox file in the mboxrd format: a "From sender date" line, the message
 * with LF line ends and /^>*From / lines quoted with one more ">", and an empty line.
 *
 * Crash recovery cuts off only bytes it can prove it appended. Each delivery first writes the
 * exact span it will append to a spool file beside the mbox (`.NAME.postel-ID`, created empty
 * at begin() and named in the recovery token with the mbox's size), fsyncs it, appends it,
 * and removes it. After a crash: no spool file means the append completed; a tail that equals
 * the spool file's start byte for byte is ours (cut off if partial, kept if whole); anything
 * else (another program appended) is left alone and the message is fetched again.
 */
export class MboxDestination implements Destination {
  readonly description: string;

  constructor(
    private readonly path: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.description = `mbox:${path}`;
  }

  async begin(_meta: MessageMeta): Promise<Delivery> {
    const release = await acquireDotlock(`${this.path}.lock`);
    let handle: FileHandle | undefined;
    const spoolName = `.${basename(this.path)}.postel-${randomBytes(8).toString('hex')}`;
    const spoolPath = join(dirname(this.path), spoolName);
    let spooled = false;
    try {
      handle = await open(this.path, 'a+', 0o600);
      const offset = (await handle.stat()).size;
      const separator = await separatorNeeded(handle, offset);
      await this.removeOldSpools();
      await writeFileDurable(spoolPath, '');
      spooled = true;
      const opened = handle;
      let released = false;
      const finish = async (): Promise<void> => {
        if (released) return;
        released = true;
        await opened.close().catch(() => undefined);
        await release();
      };
      return {
        token: { mbox: offset, spool: spoolName },
        write: async (message) => {
          try {
            await this.spool(spoolPath, message, separator);
            await appendCopy(opened, spoolPath);
            await unlink(spoolPath);
          } catch (err) {
            // Cut our partial append off again; we still hold the lock, so it is ours.
            await opened.truncate(offset).catch(() => undefined);
            await opened.sync().catch(() => undefined);
            await unlink(spoolPath).catch(() => undefined);
            throw err instanceof DeliveryError ? err : new DeliveryError(`append to ${this.path} failed: ${(err as Error).message}`, true, { cause: err });
          } finally {
            await finish();
          }
        },
        abort: async () => {
          await unlink(spoolPath).catch(() => undefined);
          await finish();
        },
      };
    } catch (err) {
      await handle?.close().catch(() => undefined);
      if (spooled) await unlink(spoolPath).catch(() => undefined);
      await release();
      throw new DeliveryError(`cannot open mbox ${this.path}: ${(err as Error).message}`, true, { cause: err });
    }
  }

  async recover(token: RecoveryToken): Promise<RecoveryOutcome> {
    const offset = token?.['mbox'];
    const spoolName = token?.['spool'];
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return 'unknown';
    // A token without a spool file was written by an older postel: nothing proves the tail.
    if (typeof spoolName !== 'string' || !spoolName.startsWith('.') || spoolName.includes('/')) return 'unknown';
    const spoolPath = join(dirname(this.path), spoolName);
    const release = await acquireDotlock(`${this.path}.lock`);
    let handle: FileHandle | undefined;
    let spool: FileHandle | undefined;
    try {
      try {
        spool = await open(spoolPath, 'r');
      } catch (err) {
        // Created at begin(), removed only after the append was complete and synced.
        if (errnoCode(err) === 'ENOENT') return 'delivered';
        throw err;
      }
      try {
        handle = await open(this.path, 'r+');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return 'not-delivered';
        throw err;
      }
      const size = (await handle.stat()).size;
      const spoolSize = (await spool.stat()).size;
      if (size <= offset) return 'not-delivered';
      const compared = Math.min(size - offset, spoolSize);
      if (spoolSize === 0 || !(await sameBytes(handle, offset, spool, compared))) return 'unknown';
      if (size - offset >= spoolSize) return 'delivered';
      await handle.truncate(offset);
      await handle.sync();
      return 'not-delivered';
    } finally {
      await spool?.close().catch(() => undefined);
      await handle?.close().catch(() => undefined);
      await unlink(spoolPath).catch(() => undefined);
      await release();
    }
  }

  /** The exact bytes to append, durably, in the spool file. */
  private async spool(spoolPath: string, source: Readable, separator: string): Promise<void> {
    const { head, message } = await peekHeader(source);
    const sender = envelopeSender(head) || 'MAILER-DAEMON';
    const handle = await open(spoolPath, 'w');
    try {
      await writeAll(handle, Buffer.from(`${separator}From ${sender} ${asctime(this.now())}\n`, 'latin1'));
      const crlf = new CrlfToLf();
      const quoter = new MboxrdQuoter();
      await writeStream(
        handle,
        message,
        (chunk) => quoter.push(crlf.push(chunk)),
        () => Buffer.concat([quoter.push(crlf.end()), quoter.end(), Buffer.from('\n')]),
      );
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** Spool files of crashes long past, whose deliveries nobody will recover any more. */
  private async removeOldSpools(): Promise<void> {
    const prefix = `.${basename(this.path)}.postel-`;
    const dir = dirname(this.path);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(prefix)) continue;
      const info = await lstat(join(dir, name)).catch(() => undefined);
      if (info?.isFile() && Date.now() - info.mtimeMs > SPOOL_MAX_AGE_MS) await unlink(join(dir, name)).catch(() => undefined);
    }
  }
}

/** Appends the spool file's bytes to the mbox and syncs it. */
async function appendCopy(handle: FileHandle, spoolPath: string): Promise<void> {
  const spool = await open(spoolPath, 'r');
  try {
    await writeStream(handle, spool.createReadStream({ autoClose: false, highWaterMark: COMPARE_SLICE }));
  } finally {
    await spool.close();
  }
  await handle.sync();
}

/** Whether `length` bytes of the mbox from `offset` equal the spool file's first `length`. */
async function sameBytes(mbox: FileHandle, offset: number, spool: FileHandle, length: number): Promise<boolean> {
  const a = Buffer.alloc(COMPARE_SLICE);
  const b = Buffer.alloc(COMPARE_SLICE);
  for (let done = 0; done < length; ) {
    const want = Math.min(COMPARE_SLICE, length - done);
    const [ra, rb] = await Promise.all([mbox.read(a, 0, want, offset + done), spool.read(b, 0, want, done)]);
    if (ra.bytesRead !== want || rb.bytesRead !== want || !a.subarray(0, want).equals(b.subarray(0, want))) return false;
    done += want;
  }
  return true;
}

/**
 * The classic mbox dot-lock (FILE.lock, created exclusively), which mutt, procmail,
 * Postfix's local(8) and Dovecot all honour: a regular file naming our pid and host, so a
 * lock left by a crashed fetch on this host is taken over at once, one from another host
 * (an mbox on NFS) only once it is 5 minutes old. Waits up to 10 s for another holder.
 */
async function acquireDotlock(path: string): Promise<() => Promise<void>> {
  try {
    const lock = await LockFile.acquire({ path, form: 'file', mode: 0o644, wait: { timeoutMs: 10_000, retryMs: 50 }, staleAfterMs: 5 * 60_000 });
    return () => lock.release();
  } catch (err) {
    if (err instanceof LockBusyError) throw new DeliveryError(`${path} is held by another program`, true, { cause: err });
    throw new DeliveryError(`cannot create lock ${path}: ${(err as Error).message}`, true, { cause: err });
  }
}

/** asctime(3) in UTC, as From_ lines carry it: "Thu Nov  7 05:01:22 2024". */
export function asctime(d: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`;
}

/** Messages are separated by an empty line; repair a file that does not end with one. */
async function separatorNeeded(handle: FileHandle, size: number): Promise<string> {
  if (size === 0) return '';
  const tail = Buffer.alloc(Math.min(2, size));
  await handle.read(tail, 0, tail.length, size - tail.length);
  if (tail[tail.length - 1] !== 0x0a) return '\n\n';
  if (tail.length === 2 && tail[0] !== 0x0a) return '\n';
  return '';
}
