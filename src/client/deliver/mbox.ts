import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { CrlfToLf } from '../../message/line-ends.js';
import { writeAll, writeStream } from '../../fs/durable.js';
import { errnoCode } from '../../fs/errno.js';
import { LockBusyError, LockFile } from '../../fs/lock-file.js';
import { envelopeSender, peekHeader } from './header-peek.js';
import { MboxrdQuoter } from './mboxrd.js';
import { DeliveryError, type Delivery, type Destination, type MessageMeta, type RecoveryOutcome, type RecoveryToken } from './types.js';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const FROM_AT_LINE_START = Buffer.from('\nFrom ');

/**
 * Appends to an mbox file in the mboxrd format: a "From sender date" line, the message
 * with LF line ends and /^>*From / lines quoted with one more ">", and an empty line.
 * The file's size before the append is recorded in the fetch state; after a crash, a
 * tail that only we wrote is cut off again, so the next run appends the message once.
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
    try {
      handle = await open(this.path, 'a+', 0o600);
      const offset = (await handle.stat()).size;
      const separator = await separatorNeeded(handle, offset);
      const opened = handle;
      let released = false;
      const finish = async (): Promise<void> => {
        if (released) return;
        released = true;
        await opened.close().catch(() => undefined);
        await release();
      };
      return {
        token: { mbox: offset },
        write: async (message) => {
          try {
            await this.append(opened, message, separator);
          } catch (err) {
            // Cut our partial append off again; we still hold the lock, so it is ours.
            await opened.truncate(offset).catch(() => undefined);
            await opened.sync().catch(() => undefined);
            throw err instanceof DeliveryError ? err : new DeliveryError(`append to ${this.path} failed: ${(err as Error).message}`, true, { cause: err });
          } finally {
            await finish();
          }
        },
        abort: finish,
      };
    } catch (err) {
      await handle?.close().catch(() => undefined);
      await release();
      throw new DeliveryError(`cannot open mbox ${this.path}: ${(err as Error).message}`, true, { cause: err });
    }
  }

  async recover(token: RecoveryToken): Promise<RecoveryOutcome> {
    const offset = token?.['mbox'];
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return 'unknown';
    const release = await acquireDotlock(`${this.path}.lock`);
    let handle: FileHandle | undefined;
    try {
      try {
        handle = await open(this.path, 'r+');
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return 'not-delivered';
        throw err;
      }
      const size = (await handle.stat()).size;
      if (size <= offset) return 'not-delivered';
      // Only our From_ line may start a message in the tail (mboxrd quoting guarantees
      // the body has none). Another one means someone appended after the crash: their
      // mail must stay, so ours stays too, and the message is fetched again.
      if ((await countFromLines(handle, offset, size)) > 1) return 'unknown';
      await handle.truncate(offset);
      await handle.sync();
      return 'not-delivered';
    } finally {
      await handle?.close().catch(() => undefined);
      await release();
    }
  }

  private async append(handle: FileHandle, source: Readable, separator: string): Promise<void> {
    const { head, message } = await peekHeader(source);
    const sender = envelopeSender(head) || 'MAILER-DAEMON';
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
  }
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

/** Lines starting with "From " in [from, to), read in slices (bounded memory). */
async function countFromLines(handle: FileHandle, from: number, to: number): Promise<number> {
  const slice = 64 * 1024;
  const buffer = Buffer.alloc(slice + FROM_AT_LINE_START.length);
  let count = 0;
  // Carry the last bytes of each slice so a match across the boundary is found; start
  // as if after a line end, since our append always starts a line.
  let carry = Buffer.from('\n');
  for (let position = from; position < to; position += slice) {
    const length = Math.min(slice, to - position);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    const window = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
    for (let at = window.indexOf(FROM_AT_LINE_START); at >= 0; at = window.indexOf(FROM_AT_LINE_START, at + 1)) {
      if (at + FROM_AT_LINE_START.length > carry.length) count++;
    }
    carry = window.subarray(Math.max(0, window.length - (FROM_AT_LINE_START.length - 1)));
    if (bytesRead === 0) break;
  }
  return count;
}
