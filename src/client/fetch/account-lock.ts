import { hostname } from 'node:os';
import { mkdir, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import { createExclusive, errnoCode } from '../deliver/fs-durable.js';
import { AccountBusyError } from './errors.js';

interface Holder {
  readonly pid: number;
  readonly host: string;
}

/**
 * Keeps two fetches of one account apart (cron and a daemon, two terminals): a lock file
 * created with O_EXCL beside the state file, naming its process. A lock whose process is
 * gone (on this host) is taken over, so a fetch killed with SIGKILL does not block the
 * next one. Not waiting: a second fetch reports the account busy and leaves it alone.
 */
export class AccountLock {
  private constructor(
    private readonly path: string,
    private readonly content: string,
  ) {}

  static async acquire(path: string, account: string): Promise<AccountLock> {
    const me: Holder = { pid: process.pid, host: hostname() };
    const content = `${JSON.stringify(me)}\n`;
    if (await createExclusive(path, content)) return new AccountLock(path, content);
    const holder = await readHolder(path);
    if (holder !== undefined && !isDead(holder)) throw new AccountBusyError(account, `pid ${holder.pid} on ${holder.host}`);
    // Take over under a mutex directory, so two takers cannot both succeed; staleness is
    // checked again inside it.
    const mutex = `${path}.takeover`;
    try {
      await mkdir(mutex);
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') throw new AccountBusyError(account, 'another fetch is taking the lock over');
      throw err;
    }
    try {
      const again = await readHolder(path);
      if (again !== undefined && !isDead(again)) throw new AccountBusyError(account, `pid ${again.pid} on ${again.host}`);
      await rename(path, `${path}.stale`).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT') throw err;
      });
      await unlink(`${path}.stale`).catch(() => undefined);
      if (!(await createExclusive(path, content))) throw new AccountBusyError(account, 'another fetch took the lock');
      return new AccountLock(path, content);
    } finally {
      await rmdir(mutex).catch(() => undefined);
    }
  }

  async release(): Promise<void> {
    const now = await readFile(this.path, 'utf8').catch(() => '');
    if (now === this.content) await unlink(this.path).catch(() => undefined);
  }
}

/**
 * The holder named in the lock, or undefined when the file is gone. Locks are never
 * written half (createExclusive), so an unreadable one was damaged by hand: dead.
 */
async function readHolder(path: string): Promise<Holder | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value.pid === 'number' && typeof value.host === 'string') return { pid: value.pid, host: value.host };
  } catch {
    // fall through
  }
  return { pid: 0, host: hostname() };
}

function isDead(holder: Holder): boolean {
  // A pid means nothing on another host; such a lock must be removed by hand.
  if (holder.host !== hostname()) return false;
  if (holder.pid <= 0) return true;
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
    return false;
  } catch (err) {
    return errnoCode(err) === 'ESRCH';
  }
}
