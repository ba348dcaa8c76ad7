import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { MaildropLockedError, StoreError } from '../errors.js';

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') {
    return err.code;
  }
  return undefined;
}

export function isErrno(err: unknown, code: string): boolean {
  return errnoCode(err) === code;
}

/**
 * Wraps a low-level failure for callers. File-system faults count as temporary: disk full,
 * quota, I/O errors and even a misconfigured directory can be fixed by an administrator,
 * and a temporary answer makes the MTA keep the mail queued instead of bouncing it.
 */
export function toStoreError(err: unknown, what: string): Error {
  if (err instanceof StoreError || err instanceof MaildropLockedError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StoreError(`${what}: ${detail}`, true, { cause: err });
}

/** Makes a rename or unlink in `dir` durable; without it a crash can undo the change. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `dir/name` so that readers see either the old or the new content, never a mix.
 * The temporary name is fixed because only the maildrop lock holder writes these files.
 */
export async function writeFileAtomic(dir: string, name: string, data: string): Promise<void> {
  const target = join(dir, name);
  const temp = `${target}.tmp`;
  const handle = await open(temp, 'w', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
  await fsyncDir(dir);
}

/**
 * Runs `fn` over `items` with at most `limit` calls in flight: fast on large maildrops
 * without exhausting file descriptors.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
