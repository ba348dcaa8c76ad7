import { readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createExclusive, errnoCode } from './fs-durable.js';
import { DeliveryError } from './types.js';

export interface DotlockOptions {
  /** How long to wait for another holder (default 10 s). */
  readonly timeoutMs?: number;
  /** A lock not naming a live process and older than this is stale (default 5 min). */
  readonly staleMs?: number;
}

/**
 * The classic mbox dot-lock (FILE.lock, created with O_EXCL), which mutt, procmail,
 * Postfix's local(8) and Dovecot all honour. It holds our pid, so a lock left by a
 * crashed fetch on this host is taken over at once; one without a readable pid only after
 * `staleMs`. Resolves to the release function.
 */
export async function acquireDotlock(path: string, options: DotlockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const staleMs = options.staleMs ?? 5 * 60_000;
  const content = `${process.pid}\n`;
  const deadline = Date.now() + timeoutMs;
  // Bounded by the deadline; each pass either takes the lock, clears a stale one, or sleeps.
  for (;;) {
    let created: boolean;
    try {
      created = await createExclusive(path, content, 0o644);
    } catch (err) {
      throw new DeliveryError(`cannot create lock ${path}: ${(err as Error).message}`, true, { cause: err });
    }
    if (created) {
      return async () => {
        const now = await readFile(path, 'utf8').catch(() => '');
        if (now === content) await unlink(path).catch(() => undefined);
      };
    }
    // Two fetches could both judge one dead lock stale and the second remove the first's
    // fresh lock; that needs a crash plus two takers within milliseconds, and the fetch
    // state lock already keeps two fetches of one account apart.
    if (await isStale(path, staleMs)) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) throw new DeliveryError(`${path} is held by another program`, true);
    await sleep(50 + Math.floor(Math.random() * 50));
  }
}

async function isStale(path: string, staleMs: number): Promise<boolean> {
  try {
    const [info, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    const pid = /^\s*(\d+)\s*$/.exec(text)?.[1];
    if (pid !== undefined && Number(pid) > 0) return !alive(Number(pid)) || Date.now() - info.mtimeMs > staleMs;
    return Date.now() - info.mtimeMs > staleMs;
  } catch (err) {
    // Released between our attempt and the look: not stale, just try again.
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}
