import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import type { Logger } from '../../log/logger.js';
import { MaildropLockedError } from '../errors.js';
import { errnoCode, isErrno } from './fs-util.js';

/**
 * Tokens of the stores alive in this process. A lock file carrying our pid but none of
 * these tokens was left by an earlier process that had the same pid (common in containers,
 * where the server is often pid 1).
 */
const liveTokens = new Set<string>();

export function newLockToken(): string {
  const token = randomBytes(16).toString('hex');
  liveTokens.add(token);
  return token;
}

/** A half-written lock (creator died between create and write) is abandoned after this. */
const UNREADABLE_LOCK_GRACE_MS = 30_000;
/** More than any lock file holds (its JSON is under 200 bytes); a longer one does not parse. */
const LOCK_READ_BYTES = 1024;
/** A takeover takes milliseconds; a mutex this old was left by a crash. */
const TAKEOVER_MUTEX_STALE_MS = 30_000;

export interface LockOptions {
  readonly path: string;
  readonly user: string;
  readonly token: string;
  readonly host: string;
  readonly staleMs: number;
  readonly refreshMs: number;
  readonly logger: Logger;
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly since: number;
}

interface LockState {
  /** Undefined when the content cannot be parsed (e.g. caught mid-creation). */
  readonly owner: LockOwner | undefined;
  readonly mtimeMs: number;
}

/**
 * The RFC 1939 exclusive maildrop lock: a file created with O_EXCL, so it also excludes a
 * second session of the same store. Its mtime is refreshed while held, which lets another
 * host tell a live holder from a dead one.
 */
export class MaildropLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly options: LockOptions,
    private readonly owner: LockOwner,
  ) {
    this.timer = setInterval(() => void this.refresh(), options.refreshMs);
    this.timer.unref();
  }

  static async acquire(options: LockOptions): Promise<MaildropLock> {
    const owner: LockOwner = { pid: process.pid, host: options.host, token: options.token, since: Date.now() };
    const content = JSON.stringify(owner);
    if (await tryCreate(options.path, content)) return new MaildropLock(options, owner);
    const state = await readLockState(options.path);
    if (state === undefined) {
      // Released between our attempt and the look: one more try, then give up as busy.
      if (await tryCreate(options.path, content)) return new MaildropLock(options, owner);
      throw new MaildropLockedError(options.user);
    }
    if (!isStale(state, options)) throw new MaildropLockedError(options.user);
    await takeOver(options, content);
    return new MaildropLock(options, owner);
  }

  /** Whether the lock file is still ours (it could have been taken over as stale). */
  async isHeld(): Promise<boolean> {
    return !this.released && (await this.ownsFile());
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      if (await this.ownsFile()) await unlink(this.options.path);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) {
        this.options.logger.warn({ err, lock: this.options.path }, 'could not remove maildrop lock');
      }
    }
  }

  /** Reads the lock's content only: ownership does not need its age (one stat less). */
  private async ownsFile(): Promise<boolean> {
    let content: string;
    try {
      content = await readSmallFile(this.options.path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      throw err;
    }
    const owner = parseOwner(content);
    return owner !== undefined && sameOwner(owner, this.owner);
  }

  private async refresh(): Promise<void> {
    if (this.released) return;
    try {
      if (!(await this.ownsFile())) {
        this.options.logger.warn({ lock: this.options.path, user: this.options.user }, 'maildrop lock was taken over by another session');
        clearInterval(this.timer);
        return;
      }
      const now = new Date();
      await utimes(this.options.path, now, now);
    } catch (err) {
      this.options.logger.warn({ err, lock: this.options.path }, 'could not refresh maildrop lock');
    }
  }
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.token === b.token && a.since === b.since && a.pid === b.pid && a.host === b.host;
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  try {
    await handle.writeFile(content, 'utf8');
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw err;
  }
  await handle.close();
  return true;
}

async function readLockState(path: string): Promise<LockState | undefined> {
  let content: string;
  let mtimeMs: number;
  try {
    // stat first: a refresh between the two calls only makes the lock look younger.
    mtimeMs = (await stat(path)).mtimeMs;
    content = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  return { owner: parseOwner(content), mtimeMs };
}

/**
 * A lock file is a few dozen bytes: one read into a small buffer instead of readFile's
 * fstat, read and read-to-end.
 */
async function readSmallFile(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(LOCK_READ_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, LOCK_READ_BYTES, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

function parseOwner(content: string): LockOwner | undefined {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, host, token, since } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid <= 0) return undefined;
  if (typeof host !== 'string' || typeof token !== 'string' || typeof since !== 'number') return undefined;
  return { pid, host, token, since };
}

function isStale(state: LockState, options: LockOptions): boolean {
  const age = Date.now() - state.mtimeMs;
  if (age > options.staleMs) return true;
  const owner = state.owner;
  if (owner === undefined) return age > Math.min(UNREADABLE_LOCK_GRACE_MS, options.staleMs);
  // Pids mean nothing across hosts; there only the refreshed mtime tells.
  if (owner.host !== options.host) return false;
  if (owner.pid === process.pid) return !liveTokens.has(owner.token);
  return !processAlive(owner.pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(err) !== 'ESRCH';
  }
}

/**
 * Replacing a stale lock is unlink + create, which two contenders must not interleave
 * (the second would unlink the first one's fresh lock). A mkdir-based mutex serializes
 * them, and staleness is checked again inside it.
 */
async function takeOver(options: LockOptions, content: string): Promise<void> {
  const mutex = `${options.path}.takeover`;
  if (!(await enterMutex(mutex))) throw new MaildropLockedError(options.user);
  try {
    const state = await readLockState(options.path);
    if (state !== undefined) {
      if (!isStale(state, options)) throw new MaildropLockedError(options.user);
      options.logger.warn(
        { user: options.user, lock: options.path, holder: state.owner, ageMs: Date.now() - state.mtimeMs },
        'taking over stale maildrop lock',
      );
      try {
        await unlink(options.path);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    if (!(await tryCreate(options.path, content))) throw new MaildropLockedError(options.user);
  } finally {
    await rmdir(mutex).catch(() => undefined);
  }
}

async function enterMutex(path: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await mkdir(path, { mode: 0o700 });
      return true;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      throw err;
    }
    if (Date.now() - mtimeMs <= TAKEOVER_MUTEX_STALE_MS) return false;
    await rmdir(path).catch(() => undefined);
  }
  return false;
}
