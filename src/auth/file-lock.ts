import { randomUUID } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode, UsersFileLockError } from './errors.js';

export interface LockOptions {
  /** How long to keep retrying before giving up. */
  readonly timeoutMs?: number;
  /** A lock file older than this is assumed to belong to a process that died holding it. */
  readonly staleMs?: number;
  readonly retryMs?: number;
}

const DEFAULTS = { timeoutMs: 5000, staleMs: 30_000, retryMs: 20 } as const;

/**
 * Runs `task` while holding `lockPath`, a lock file created with O_EXCL. A plain file works
 * across processes and on every file system that supports O_EXCL, unlike fcntl locks,
 * which Node cannot take.
 */
export async function withLockFile<T>(lockPath: string, task: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const token = await acquire(lockPath, { ...DEFAULTS, ...options });
  try {
    return await task();
  } finally {
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, options: Required<LockOptions>): Promise<string> {
  const token = `${process.pid} ${randomUUID()}\n`;
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await tryCreate(lockPath, token)) return token;
    if (await removeIfStale(lockPath, options.staleMs)) continue;
    if (Date.now() >= deadline) throw new UsersFileLockError(lockPath);
    // Jitter keeps processes that collided once from colliding on every retry.
    await sleep(options.retryMs + Math.floor(Math.random() * options.retryMs));
  }
}

async function tryCreate(lockPath: string, token: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, 'wx', 0o600);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(token);
    await handle.close();
    return true;
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(lockPath).catch(() => undefined);
    throw error;
  }
}

/**
 * Takes over a lock left by a crashed process. Two waiters that both see the stale lock can
 * race here (the second may remove the lock the first just created); that needs a crash and
 * two writers within the same few milliseconds, and a rename-based protocol would only move
 * the window, so the simple form is kept.
 */
async function removeIfStale(lockPath: string, staleMs: number): Promise<boolean> {
  try {
    const info = await stat(lockPath);
    if (Date.now() - info.mtimeMs < staleMs) return false;
    await unlink(lockPath);
    return true;
  } catch (error) {
    // Released between our attempt and the stat: try again at once.
    if (errorCode(error) === 'ENOENT') return true;
    throw error;
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  try {
    // If we were so slow that another process took the lock over, the file is theirs now.
    if ((await readFile(lockPath, 'utf8')) === token) await unlink(lockPath);
  } catch {
    // A lock we cannot remove goes stale and is taken over after staleMs; failing the
    // caller's already completed work because of it would mislead.
  }
}
