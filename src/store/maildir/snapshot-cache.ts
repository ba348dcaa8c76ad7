import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { statBigint, type BlockingGuard } from '../../fs/blocking-guard.js';
import { isErrno } from '../../fs/errno.js';
import type { MaildirLayout } from './layout.js';
import { cleanAbandonedTmp, takeSnapshot, type Snapshot, type SnapshotOptions } from './snapshot.js';
import { loadSnapshotFile, saveSnapshotFile } from './snapshot-file.js';

/**
 * Snapshots of recently opened maildrops, so that a login to a maildrop nothing has touched
 * since costs three stats instead of reading and parsing the UID index and listing new/ and
 * cur/ (for 100,000 messages: a few milliseconds instead of a few hundred).
 *
 * A snapshot is reused only when the index file and both directories are exactly as they
 * were: every change that matters renames or removes a file in new/ or cur/ (delivery,
 * another client's flags or deletions) or replaces the index (a commit, in any process), and
 * each of those changes the directory's mtime and ctime, or the index's inode. Timestamps
 * advance in clock ticks, so a snapshot whose directories changed within racyWindowMs
 * before it was taken is not kept: a second change in the same tick could not be told apart.
 * With EXPIRE on, time alone changes the maildrop, so nothing is reused.
 *
 * Entries are shared with the maildrop opened from them. It mutates them only along with a
 * change on disk (moving a file, rewriting the index), which makes the cached copy stale by
 * the rule above before it could be handed out again.
 */
export class SnapshotCache {
  private readonly entries = new Map<string, { readonly identity: string; readonly snapshot: Snapshot }>();
  private messages = 0;
  private readonly racyWindowMs: number;
  private readonly now: () => number;
  private readonly persistMinMessages: number;
  private readonly blocking: BlockingGuard | undefined;
  private readonly onSaved: ((user: string) => void) | undefined;
  private readonly saving = new Set<Promise<void>>();

  /**
   * `maxMessages` bounds what is kept, counted in messages over all maildrops (0: nothing).
   * `racyWindowMs` is how recent a change may be for a snapshot not to be kept; `now` is
   * the clock it is measured with (tests move it instead of waiting). Snapshots of at least
   * `persistMinMessages` messages are also saved for other processes (snapshot-file.ts; 0:
   * never): for small maildrops a listing costs less than writing the file at every change.
   * `blocking` lets the three stats of a login be blocking calls while they are fast.
   * `onSaved` hears of every snapshot file written, so that other processes can adopt it.
   */
  constructor(
    private readonly maxMessages: number,
    options: {
      readonly racyWindowMs?: number;
      readonly now?: () => number;
      readonly persistMinMessages?: number;
      readonly blocking?: BlockingGuard;
      readonly onSaved?: (user: string) => void;
    } = {},
  ) {
    this.racyWindowMs = options.racyWindowMs ?? DEFAULT_RACY_WINDOW_MS;
    this.now = options.now ?? Date.now;
    this.persistMinMessages = options.persistMinMessages ?? DEFAULT_PERSIST_MIN_MESSAGES;
    this.blocking = options.blocking;
    this.onSaved = options.onSaved;
  }

  async take(user: string, layout: MaildirLayout, options: SnapshotOptions): Promise<Snapshot> {
    const usable = this.maxMessages > 0 && options.expireDays === undefined;
    const before = usable ? await identityOf(layout, this.racyWindowMs, this.now(), this.blocking) : null;
    const cached = this.entries.get(user);
    if (cached !== undefined) {
      this.drop(user);
      if (before !== null && before.index !== null && cached.identity === before.index + before.dirs) {
        this.keep(user, cached.identity, cached.snapshot);
        return cached.snapshot;
      }
    }
    // Another process (POP3 worker) may have taken it and left where the files are.
    if (before !== null && before.index !== null && this.persistMinMessages > 0) {
      const stored = await this.keepFromFile(user, layout, before.index + before.dirs);
      if (stored !== null) {
        if (options.cleanTmp !== false) await cleanAbandonedTmp(layout, options.logger);
        return stored;
      }
    }
    const snapshot = await takeSnapshot(layout, options);
    // A snapshot that could not record its UIDs (full disk) shows less than there is: never reused.
    if (before !== null && !snapshot.partial) {
      // The index we just wrote is known exactly: it can be cached at once.
      const index = snapshot.indexWritten ? await indexIdentity(layout, this.blocking) : before.index;
      if (index !== null) {
        this.keep(user, index + before.dirs, snapshot);
        if (this.persistMinMessages > 0 && snapshot.messages.length >= this.persistMinMessages) this.saveLater(user, layout, index + before.dirs, snapshot, options.logger);
      }
    }
    return snapshot;
  }

  /**
   * Loads the snapshot file another process just saved for `user` (onSaved there), so that
   * the next login here is a cache hit instead of reading that file: with several POP3
   * workers a mail client's next poll lands on any of them, and reading the file of 100,000
   * messages is a few hundred milliseconds. True when the cache now holds the maildrop as it
   * is; false when the file is not for the maildrop as it is now (changed since), or the
   * maildrop changed too recently to be compared (the next login lists it anyway).
   */
  async adopt(user: string, layout: MaildirLayout): Promise<boolean> {
    if (this.maxMessages === 0) return false;
    const now = await identityOf(layout, this.racyWindowMs, this.now(), this.blocking);
    if (now === null || now.index === null) return false;
    const identity = now.index + now.dirs;
    if (this.entries.get(user)?.identity === identity) return true;
    const stored = await this.keepFromFile(user, layout, identity);
    return stored !== null && this.entries.get(user)?.snapshot === stored;
  }

  /** The snapshot file written for `identity`, now in the cache (if it fits); null when there is none. */
  private async keepFromFile(user: string, layout: MaildirLayout, identity: string): Promise<Snapshot | null> {
    const stored = await loadSnapshotFile(layout, identity);
    if (stored !== null) this.keep(user, identity, stored);
    return stored;
  }

  /**
   * Writes the snapshot file once the login that took the snapshot has its answer: the file
   * is only a cache for other processes, and for 100,000 messages its writing and fsync were
   * 200-300 ms of a first login. Failing to write it (a full disk) costs the next process a
   * listing. Entries mutated before it runs go with a change on disk, which makes this
   * identity stale (see the class comment): such a file is never loaded.
   */
  private saveLater(user: string, layout: MaildirLayout, identity: string, snapshot: Snapshot, logger: SnapshotOptions['logger']): void {
    const write: Promise<void> = nextTurn()
      .then(() => saveSnapshotFile(layout, identity, snapshot))
      .then(
        () => this.onSaved?.(user),
        (err: unknown) => logger.warn({ err, dir: layout.dir }, 'could not save the maildrop snapshot file'),
      )
      .finally(() => this.saving.delete(write));
    this.saving.add(write);
  }

  /** Resolves once the snapshot files being written are (the store's close waits for them). */
  async settled(): Promise<void> {
    while (this.saving.size > 0) await Promise.all(this.saving);
  }

  /** Drops the user's snapshot (a commit is changing the maildrop). */
  forget(user: string): void {
    this.drop(user);
  }

  /**
   * Replaces the user's entry. A take and an adopt of the same user may both be under way
   * (a login while the file another worker saved is read): whichever ends last stands, and
   * the count of kept messages holds each user once.
   */
  private keep(user: string, identity: string, snapshot: Snapshot): void {
    this.drop(user);
    const size = snapshot.messages.length;
    if (size > this.maxMessages) return;
    // Least recently used first: a Map iterates in insertion order.
    for (const [name, entry] of this.entries) {
      if (this.messages + size <= this.maxMessages) break;
      this.drop(name, entry.snapshot);
    }
    this.entries.set(user, { identity, snapshot });
    this.messages += size;
  }

  private drop(user: string, snapshot = this.entries.get(user)?.snapshot): void {
    if (snapshot === undefined) return;
    this.entries.delete(user);
    this.messages -= snapshot.messages.length;
  }
}

const DEFAULT_PERSIST_MIN_MESSAGES = 10_000;

/** Comfortably more than the timestamp granularity of common file systems. */
const DEFAULT_RACY_WINDOW_MS = 2000;

/**
 * The identity of new/ and cur/, null when either is missing or changed too recently to be
 * compared safely, and that of the index file (null when there is none).
 */
async function identityOf(layout: MaildirLayout, racyWindowMs: number, nowMs: number, blocking?: BlockingGuard): Promise<{ readonly dirs: string; readonly index: string | null } | null> {
  let dirs: BigIntStats[];
  let index: string | null;
  try {
    [index, ...dirs] = await Promise.all([indexIdentity(layout, blocking), statBigint(layout.new, blocking), statBigint(layout.cur, blocking)]);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  const now = BigInt(nowMs) * 1_000_000n;
  const window = BigInt(racyWindowMs) * 1_000_000n;
  let identity = '';
  for (const s of dirs as BigIntStats[]) {
    if (now - s.mtimeNs < window || now - s.ctimeNs < window) return null;
    identity += `${s.dev}:${s.ino}:${s.mtimeNs}:${s.ctimeNs};`;
  }
  return { dirs: identity, index };
}

/**
 * The index is only ever replaced whole (a new file renamed over it), so a new inode, size
 * or mtime tells a new version, however recent: unlike the directories, it needs no racy
 * window.
 */
async function indexIdentity(layout: MaildirLayout, blocking?: BlockingGuard): Promise<string | null> {
  const path = join(layout.dir, layout.indexName);
  try {
    const s = await statBigint(path, blocking);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs};`;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}
