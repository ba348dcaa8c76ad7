import { randomBytes } from 'node:crypto';
import { lstatSync, readlinkSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { lstat, open, readlink, symlink, unlink, lutimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { blockingOr, type BlockingGuard } from './blocking-guard.js';
import { createFileExclusive } from './durable.js';
import { errnoCode, isErrno } from './errno.js';

/**
 * One lock-file protocol for every module (maildrop, users file, fetch account, mbox).
 *
 * A lock is an entry created exclusively at `path` whose content names its holder as
 * `PID:TOKEN@HOST`. By default the entry is a symbolic link whose target is that text:
 * symlink(2) is atomic and exclusive, and a short target lives in the inode, so taking a
 * lock needs no data block and works on a full disk (logins must, or nobody can download
 * and delete mail to free space). The link is never followed; it only holds text. The
 * `file` form (a regular file written in full before it appears, via link(2)) is for mbox
 * dot-locks, which other mail programs check by opening them.
 */

export interface LockHolder {
  readonly pid: number;
  /** Empty when the lock did not say (a plain pid written by another program). */
  readonly token: string;
  readonly host: string;
}

export interface LockFileOptions {
  readonly path: string;
  /**
   * Without `wait` a held lock fails at once with LockBusyError; with it, acquiring retries
   * until `timeoutMs` has passed.
   */
  readonly wait?: { readonly timeoutMs: number; readonly retryMs?: number };
  /** A holder on this host whose process is gone (or whose pid was reused) is stale. Default true. */
  readonly staleIfDead?: boolean;
  /**
   * A lock whose mtime is older than this is stale whoever holds it: the only test that
   * works across hosts (NFS), so a long-lived holder must `refreshMs`. Default: never.
   */
  readonly staleAfterMs?: number;
  /** While held, the lock's mtime is refreshed this often (must be below staleAfterMs). */
  readonly refreshMs?: number;
  readonly form?: 'symlink' | 'file';
  /** Mode of a `file` lock. Default 0600. */
  readonly mode?: number;
  readonly logger?: Logger;
  /** Called once if a refresh finds the lock taken over by someone else. */
  readonly onLost?: () => void;
  /**
   * A word (letters only) appended to the holder's token, so that others can tell what kind
   * of holder it is (LockBusyError.holder): a maildrop lock held for a moment to number new
   * mail says `view`, and a POP3 login waits for it instead of answering [IN-USE].
   */
  readonly tag?: string;
  /**
   * Take, look at and remove a symlink lock with blocking calls when this guard allows them
   * (a maildrop lock on every login: four calls through the thread pool cost more than the
   * rest of a short session). Takeovers of stale locks stay asynchronous.
   */
  readonly blocking?: BlockingGuard;
}

/** The lock is held by someone else (and is not stale). */
export class LockBusyError extends Error {
  override readonly name = 'LockBusyError';
  constructor(
    readonly path: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(`${path} is held by ${holder === undefined ? 'another process' : `pid ${holder.pid} on ${holder.host || 'an unknown host'}`}`);
  }
}

/** A lock that no live process names, left by a crash, is replaced after at least this long. */
const UNREADABLE_GRACE_MS = 30_000;
/** A takeover takes milliseconds; a takeover mutex this old was left by a crash. */
const TAKEOVER_MUTEX_STALE_MS = 30_000;
const MAX_LOCK_BYTES = 1024;

/**
 * This process's identity in its locks. A lock carrying our pid but another token was left
 * by an earlier process that had the same pid (common in containers, where the server is
 * often pid 1); one carrying our token is held by this process.
 */
const PROCESS_TOKEN = randomBytes(6).toString('hex');
let lockCounter = 0;
const HOST = hostname();

export function localHostName(): string {
  return HOST;
}

interface LockState {
  /** Undefined when the content does not name a holder. */
  readonly holder: LockHolder | undefined;
  readonly text: string;
  readonly mtimeMs: number;
}

export class LockFile {
  private timer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly options: LockFileOptions,
    /** Exactly what this holder wrote, the proof of ownership. */
    private readonly record: string,
  ) {
    if (options.refreshMs !== undefined) {
      this.timer = setInterval(() => void this.refresh(), options.refreshMs);
      this.timer.unref();
    }
  }

  get path(): string {
    return this.options.path;
  }

  static async acquire(options: LockFileOptions): Promise<LockFile> {
    if (options.refreshMs !== undefined && options.staleAfterMs !== undefined && options.refreshMs >= options.staleAfterMs) {
      // Otherwise a live holder's lock would look abandoned between two refreshes.
      throw new RangeError('refreshMs must be shorter than staleAfterMs');
    }
    if (options.tag !== undefined && !/^[a-z]+$/i.test(options.tag)) throw new RangeError('a lock tag is letters only');
    const token = `${PROCESS_TOKEN}.${(lockCounter++).toString(36)}${options.tag === undefined ? '' : `.${options.tag}`}`;
    const record = formatHolder({ pid: process.pid, token, host: HOST });
    const deadline = options.wait === undefined ? undefined : Date.now() + options.wait.timeoutMs;
    // Bounded by the deadline: each pass takes the lock, replaces a stale one, or sleeps.
    for (;;) {
      if (await create(options, record)) return new LockFile(options, record);
      const state = await readState(options.path, options.blocking);
      if (state === undefined) continue; // released between our attempt and the look
      if (isStale(state, options) && (await takeOver(options, record, state))) return new LockFile(options, record);
      if (deadline === undefined || Date.now() >= deadline) throw new LockBusyError(options.path, state.holder);
      const retryMs = options.wait?.retryMs ?? 25;
      // Jitter keeps processes that collided once from colliding on every retry.
      await sleep(retryMs + Math.floor(Math.random() * retryMs));
    }
  }

  /** Whether the lock is still ours (it could have been taken over as stale). */
  async isHeld(): Promise<boolean> {
    if (this.released) return false;
    const state = await readState(this.options.path);
    return state !== undefined && state.text === this.record;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.timer);
    this.timer = undefined;
    try {
      // If we were so slow that another process took the lock over, the entry is theirs.
      const { path, blocking } = this.options;
      const state = await readState(path, blocking);
      if (state !== undefined && state.text === this.record) await blockingOr(blocking, () => unlinkSync(path), () => unlink(path));
    } catch (err) {
      // A lock we cannot remove goes stale and is taken over; failing the caller's
      // completed work because of it would mislead.
      if (!isErrno(err, 'ENOENT')) this.options.logger?.warn({ err, lock: this.options.path }, 'could not remove lock');
    }
  }

  private async refresh(): Promise<void> {
    if (this.released) return;
    try {
      if (!(await this.isHeld())) {
        if (this.released) return;
        this.options.logger?.warn({ lock: this.options.path }, 'lock was taken over by another process');
        clearInterval(this.timer);
        this.timer = undefined;
        this.options.onLost?.();
        return;
      }
      const now = new Date();
      await lutimes(this.options.path, now, now);
    } catch (err) {
      this.options.logger?.warn({ err, lock: this.options.path }, 'could not refresh lock');
    }
  }
}

/** Whether the holder took its lock with this `tag`. */
export function heldWithTag(holder: LockHolder | undefined, tag: string): boolean {
  return holder !== undefined && holder.token.endsWith(`.${tag}`);
}

export function formatHolder(holder: LockHolder): string {
  return `${holder.pid}:${holder.token}@${holder.host}`;
}

/** Reads our own format, a plain pid (other mail programs' dot-locks) and older postel JSON. */
export function parseHolder(text: string): LockHolder | undefined {
  const trimmed = text.trim();
  const ours = /^(\d{1,10}):([^@\s]*)@([^\s]*)$/.exec(trimmed);
  if (ours) return validPid({ pid: Number(ours[1]), token: ours[2] ?? '', host: ours[3] ?? '' });
  const pidOnly = /^(\d{1,10})$/.exec(trimmed);
  // A bare pid is written by programs on the host that owns the mailbox file.
  if (pidOnly) return validPid({ pid: Number(pidOnly[1]), token: '', host: HOST });
  if (trimmed.startsWith('{')) {
    try {
      const value = JSON.parse(trimmed) as Record<string, unknown>;
      if (typeof value['pid'] === 'number' && typeof value['host'] === 'string') {
        return validPid({ pid: value['pid'], token: typeof value['token'] === 'string' ? `legacy-${value['token']}` : '', host: value['host'] });
      }
    } catch {
      // not ours
    }
  }
  return undefined;
}

function validPid(holder: LockHolder): LockHolder | undefined {
  return Number.isSafeInteger(holder.pid) && holder.pid > 0 ? holder : undefined;
}

async function create(options: LockFileOptions, record: string): Promise<boolean> {
  if (options.form === 'file') return createFileExclusive(options.path, `${record}\n`, { mode: options.mode ?? 0o600 });
  const { path, blocking } = options;
  try {
    await blockingOr(blocking, () => symlinkSync(record, path), () => symlink(record, path));
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    throw err;
  }
}

/** The lock's content and age, undefined when there is no lock. Never follows a link. */
async function readState(path: string, blocking?: BlockingGuard): Promise<LockState | undefined> {
  try {
    // lstat first: a refresh between the two calls only makes the lock look younger.
    const info: Stats = await blockingOr(blocking, () => lstatSync(path), () => lstat(path));
    let text: string;
    if (info.isSymbolicLink()) text = await blockingOr(blocking, () => readlinkSync(path), () => readlink(path));
    else if (info.isFile()) text = await readSmall(path);
    else text = '';
    return { holder: parseHolder(text), text: text.replace(/\n$/, ''), mtimeMs: info.mtimeMs };
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

async function readSmall(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(MAX_LOCK_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, MAX_LOCK_BYTES, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } finally {
    await handle.close();
  }
}

function isStale(state: LockState, options: LockFileOptions): boolean {
  const age = Date.now() - state.mtimeMs;
  if (options.staleAfterMs !== undefined && age > options.staleAfterMs) return true;
  const holder = state.holder;
  if (holder === undefined) return age > Math.min(UNREADABLE_GRACE_MS, options.staleAfterMs ?? Infinity);
  if (options.staleIfDead === false) return false;
  // Pids mean nothing across hosts; there only the refreshed mtime tells.
  if (holder.host !== HOST) return false;
  if (holder.pid === process.pid) return holder.token !== '' && !holder.token.startsWith(`${PROCESS_TOKEN}.`);
  return !processAlive(holder.pid);
}

/** Whether a process with this pid exists on this host (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return errnoCode(err) !== 'ESRCH';
  }
}

/**
 * Replacing a stale lock is unlink + create, which two contenders must not interleave (the
 * second would unlink the first one's fresh lock). A second lock, PATH.takeover, serializes
 * them, and staleness is judged again inside it. False when someone else got there first.
 */
async function takeOver(options: LockFileOptions, record: string, seen: LockState): Promise<boolean> {
  const mutex = `${options.path}.takeover`;
  if (!(await enterMutex(mutex, record))) return false;
  try {
    const state = await readState(options.path);
    if (state !== undefined) {
      if (state.text !== seen.text || !isStale(state, options)) return false;
      options.logger?.warn({ lock: options.path, holder: state.holder ?? state.text, ageMs: Date.now() - state.mtimeMs }, 'taking over stale lock');
      try {
        await unlink(options.path);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
    return await create(options, record);
  } finally {
    const now = await readState(mutex).catch(() => undefined);
    if (now?.text === record) await unlink(mutex).catch(() => undefined);
  }
}

async function enterMutex(path: string, record: string): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await symlink(record, path);
      return true;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
    const state = await readState(path);
    if (state === undefined) continue;
    const holderDead = state.holder !== undefined && state.holder.host === HOST && state.holder.pid !== process.pid && !processAlive(state.holder.pid);
    if (!holderDead && Date.now() - state.mtimeMs <= TAKEOVER_MUTEX_STALE_MS) return false;
    await unlink(path).catch(() => undefined);
  }
  return false;
}
