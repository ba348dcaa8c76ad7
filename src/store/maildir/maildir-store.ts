import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { silentLogger, type Logger } from '../../log/logger.js';
import { MaildropLockedError, QuotaExceededError, toStoreError } from '../errors.js';
import type { DeliveryMeta, DeliveryResult, MailStore, Maildrop, MaildropView, OpenOptions } from '../types.js';
import { deliverToMaildir } from './deliver.js';
import { escapeHostname } from './file-names.js';
import { isErrno } from '../../fs/errno.js';
import { heldWithTag, LockBusyError, LockFile } from '../../fs/lock-file.js';
import { ensureMaildir, maildirLayout, type MaildirLayout } from './layout.js';
import { MaildirMaildrop } from './maildrop.js';
import { exportDovecotUidlist, type ExportResult } from './dovecot-export.js';
import { SnapshotCache } from './snapshot-cache.js';
import { BlockingGuard } from '../../fs/blocking-guard.js';
import { assertValidUserName } from './user-name.js';
import { maildropUsage } from './usage.js';
import { readLastLogin } from './last-login.js';
import { readMaildir, viewOfSnapshot } from './view.js';
import { compileUidlFormat, DEFAULT_DOVECOT_UIDL_FORMAT, type UidlFormat } from './dovecot-uidl-format.js';

export interface MaildirStoreOptions {
  /** The mail root (DATA/mail); each user's Maildir is ROOT/<user>. */
  readonly root: string;
  /** Goes into delivered file names; defaults to the system host name. */
  readonly hostname?: string;
  /** A lock not refreshed for this long is considered abandoned. Default 10 minutes. */
  readonly lockStaleMs?: number;
  /** How often a held lock's mtime is refreshed. Default 60 seconds (at most a third of lockStaleMs). */
  readonly lockRefreshMs?: number;
  /**
   * Messages (over all maildrops) whose snapshots are kept in memory so that a login to an
   * unchanged maildrop skips reading its index and listing its directories. Default 200,000
   * (tens of MB at most); 0 turns the cache off.
   */
  readonly snapshotCacheMessages?: number;
  /**
   * Dovecot's pop3_uidl_format (default `%08Xu%08Xv`, Dovecot's own default): messages postel
   * meets for the first time keep the UIDL Dovecot or Courier showed for them (their P field
   * in dovecot-uidlist, else this format; courierpop3dsizelist). Null: always postel's own.
   */
  readonly dovecotUidlFormat?: string | null;
  /**
   * Told of each user whose snapshot file (large maildrops only) this store wrote: the other
   * POP3 workers then adoptSnapshot it.
   */
  readonly onSnapshotSaved?: (user: string) => void;
  readonly logger?: Logger;
}

const DEFAULT_LOCK_STALE_MS = 10 * 60 * 1000;
const DEFAULT_LOCK_REFRESH_MS = 60 * 1000;
const DEFAULT_SNAPSHOT_CACHE_MESSAGES = 200_000;
/** The lock tag of a view numbering new mail (see view()). */
const VIEW_LOCK_TAG = 'view';
/**
 * How long a login waits for a view's numbering: milliseconds normally, a few seconds for the
 * first open of a maildrop of 100,000 messages; past this the login answers [IN-USE].
 */
const VIEW_LOCK_WAIT_MS = 10_000;
/** tmp/ is swept of abandoned files at a login at most this often (they live 36 hours). */
const TMP_CLEAN_INTERVAL_MS = 60 * 60 * 1000;
/** Per-user memos are dropped wholesale past this size: forgetting only costs a few syscalls. */
const MAX_REMEMBERED_USERS = 100_000;

function remember<K, V>(memo: Map<K, V> | Set<K>, key: K, value?: V): void {
  if (memo.size >= MAX_REMEMBERED_USERS) memo.clear();
  if (memo instanceof Set) memo.add(key);
  else memo.set(key, value as V);
}

/**
 * Mail kept in plain Maildirs at ROOT/<user>, readable by Dovecot (mail_location =
 * maildir:ROOT/%u) and writable by Postfix or procmail next to us. Deliveries need no lock;
 * a POP3 session holds an exclusive per-user lock and keeps UIDs in `postel-uidlist`.
 */
export class MaildirStore implements MailStore {
  /** The mail root this store serves. */
  readonly root: string;
  private readonly escapedHostname: string;
  private readonly lockStaleMs: number;
  private readonly lockRefreshMs: number;
  private readonly logger: Logger;
  /** Users whose Maildir (with new/, cur/, tmp/) this store has made sure of. */
  private readonly ensured = new Set<string>();
  private readonly tmpCleanedAt = new Map<string, number>();
  private readonly snapshots: SnapshotCache;
  private readonly blocking = new BlockingGuard();
  private readonly dovecotUidlFormat: UidlFormat | undefined;

  constructor(options: MaildirStoreOptions) {
    this.root = options.root;
    this.escapedHostname = escapeHostname(options.hostname ?? osHostname());
    this.lockStaleMs = positive(options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS, 'lockStaleMs');
    this.lockRefreshMs = positive(
      options.lockRefreshMs ?? Math.min(DEFAULT_LOCK_REFRESH_MS, Math.ceil(this.lockStaleMs / 3)),
      'lockRefreshMs',
    );
    this.logger = options.logger ?? silentLogger();
    this.snapshots = new SnapshotCache(options.snapshotCacheMessages ?? DEFAULT_SNAPSHOT_CACHE_MESSAGES, {
      blocking: this.blocking,
      ...(options.onSnapshotSaved ? { onSaved: options.onSnapshotSaved } : {}),
    });
    const format = options.dovecotUidlFormat === undefined ? DEFAULT_DOVECOT_UIDL_FORMAT : options.dovecotUidlFormat;
    this.dovecotUidlFormat = format === null ? undefined : compileUidlFormat(format);
    if (this.lockRefreshMs >= this.lockStaleMs) {
      // Otherwise a live session's lock would look abandoned between two refreshes.
      throw new RangeError('lockRefreshMs must be shorter than lockStaleMs');
    }
  }

  async deliver(user: string, message: Readable | Uint8Array, meta: DeliveryMeta = {}): Promise<DeliveryResult> {
    assertValidUserName(user);
    const { receivedAt, trace, quotaLimit } = meta;
    const layout = this.layout(user);
    const result = await deliverToMaildir(layout, message, {
      escapedHostname: this.escapedHostname,
      ...(receivedAt !== undefined && Number.isFinite(receivedAt.getTime()) ? { receivedAt } : {}),
      ...(trace !== undefined ? { trace } : {}),
      // Checked once the size is known, before the message shows in new/. Two deliveries
      // racing may both pass: a Maildir has nothing to make the check atomic with.
      ...(quotaLimit !== undefined
        ? {
            beforeCommit: async (stored: number) => {
              if ((await maildropUsage(layout.dir)) + stored > quotaLimit) throw new QuotaExceededError(user);
            },
          }
        : {}),
    }).catch((err: unknown) => {
      if (!(err instanceof QuotaExceededError)) this.logger.warn({ err, user }, 'delivery failed');
      throw err;
    });
    this.logger.debug({ user, id: result.id, size: result.size }, 'delivered');
    return result;
  }

  /**
   * Takes into memory the snapshot file another process saved for `user` (onSnapshotSaved
   * there), so that the next login here costs three stats. True when it did; false when the
   * file no longer fits the maildrop, which the next login then lists.
   */
  async adoptSnapshot(user: string): Promise<boolean> {
    assertValidUserName(user);
    return this.snapshots.adopt(user, this.layout(user));
  }

  /**
   * A Maildir has no way to announce other writers' mail (`postel deliver`, procmail): never
   * calls. Deliveries through this object are known to its callers.
   */
  async watchNewMail(): Promise<() => Promise<void>> {
    return async () => undefined;
  }

  /** The mail root is there and this process may read and write it. */
  async ping(): Promise<void> {
    await access(this.root, constants.R_OK | constants.W_OK | constants.X_OK);
  }

  /** Waits for the snapshot files being written, so that none is cut short by the exit. */
  async close(): Promise<void> {
    await this.snapshots.settled();
  }

  async usage(user: string): Promise<number> {
    assertValidUserName(user);
    try {
      return await maildropUsage(this.layout(user).dir);
    } catch (err) {
      throw toStoreError(err, `reading the usage of ${user} failed`);
    }
  }

  async lastLogin(user: string): Promise<Date | null> {
    assertValidUserName(user);
    try {
      return await readLastLogin(this.layout(user));
    } catch (err) {
      throw toStoreError(err, `reading the last login of ${user} failed`);
    }
  }

  openMaildrop(user: string, options: OpenOptions = {}): Promise<Maildrop> {
    return this.openMaildirMaildrop(user, options);
  }

  /**
   * Reads the index and lists new/ and cur/ without the lock. Mail the index does not number
   * yet is numbered under the lock when it is free, taken for that moment only and tagged so
   * that a POP3 login arriving then waits for it instead of answering [IN-USE]; while a
   * session holds the lock, such mail is shown under provisional `~` names.
   */
  async view(user: string): Promise<MaildropView> {
    assertValidUserName(user);
    const layout = this.layout(user);
    try {
      const reading = await readMaildir(user, layout, this.logger);
      if (reading.unindexed === 0) return await reading.view();
      let lock: LockFile;
      try {
        lock = await LockFile.acquire({ path: layout.lock, staleAfterMs: this.lockStaleMs, logger: this.logger, tag: VIEW_LOCK_TAG });
      } catch (err) {
        if (err instanceof LockBusyError) return await reading.view();
        throw err;
      }
      try {
        const snapshot = await this.snapshots.take(user, layout, {
          nowSecs: Math.floor(Date.now() / 1000),
          expireDays: undefined,
          logger: this.logger,
          cleanTmp: false,
          ...(this.dovecotUidlFormat === undefined ? {} : { dovecotUidlFormat: this.dovecotUidlFormat }),
        });
        return viewOfSnapshot(user, layout, snapshot);
      } finally {
        await lock.release();
      }
    } catch (err) {
      throw toStoreError(err, `reading the maildrop of ${user} failed`);
    }
  }

  private async openMaildirMaildrop(user: string, options: OpenOptions): Promise<MaildirMaildrop> {
    assertValidUserName(user);
    const layout = this.layout(user);
    let lock: LockFile;
    // RFC 1939's exclusive lock. It is a symlink naming its holder, so taking it needs no
    // data block: on a full disk users can still log in and delete mail to free space.
    const acquire = (): Promise<LockFile> =>
      LockFile.acquire({
        path: layout.lock,
        staleAfterMs: this.lockStaleMs,
        refreshMs: this.lockRefreshMs,
        logger: this.logger,
        blocking: this.blocking,
      }).catch(async (err: unknown) => {
        if (!(err instanceof LockBusyError)) throw err;
        // A view numbering new mail holds the lock for milliseconds: wait for it.
        if (!heldWithTag(err.holder, VIEW_LOCK_TAG)) throw new MaildropLockedError(user);
        return LockFile.acquire({
          path: layout.lock,
          staleAfterMs: this.lockStaleMs,
          refreshMs: this.lockRefreshMs,
          logger: this.logger,
          blocking: this.blocking,
          wait: { timeoutMs: VIEW_LOCK_WAIT_MS },
        }).catch((again: unknown) => {
          throw again instanceof LockBusyError ? new MaildropLockedError(user) : again;
        });
      });
    try {
      // Four mkdirs per login add up; once a Maildir is known to exist they are skipped, and
      // a Maildir removed since shows up as ENOENT on the lock file.
      if (!this.ensured.has(user)) {
        await ensureMaildir(layout);
        remember(this.ensured, user);
      }
      try {
        lock = await acquire();
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
        await ensureMaildir(layout);
        lock = await acquire();
      }
    } catch (err) {
      throw toStoreError(err, `opening the maildrop of ${user} failed`);
    }
    try {
      const fixedNow = options.now;
      const clock = fixedNow === undefined ? () => new Date() : () => fixedNow;
      const nowMs = Date.now();
      const cleanTmp = nowMs - (this.tmpCleanedAt.get(user) ?? 0) >= TMP_CLEAN_INTERVAL_MS;
      const snapshot = await this.snapshots.take(user, layout, {
        nowSecs: Math.floor(clock().getTime() / 1000),
        expireDays: options.expireDays,
        logger: this.logger,
        cleanTmp,
        ...(this.dovecotUidlFormat === undefined ? {} : { dovecotUidlFormat: this.dovecotUidlFormat }),
      });
      if (cleanTmp) remember(this.tmpCleanedAt, user, nowMs);
      const lastLoginAt = options.lastLogin === false ? null : await readLastLogin(layout, this.blocking);
      const onCommit = (): void => this.snapshots.forget(user);
      return new MaildirMaildrop({ user, layout, lock, snapshot, lastLoginAt, clock, logger: this.logger, onCommit, blocking: this.blocking });
    } catch (err) {
      await lock.release();
      this.logger.warn({ err, user }, 'could not take maildrop snapshot');
      throw toStoreError(err, `opening the maildrop of ${user} failed`);
    }
  }

  /**
   * Writes the user's dovecot-uidlist for a move (back) to Dovecot (see dovecot-export.ts).
   * Takes the maildrop lock like a session: MaildropLockedError while one holds it.
   */
  async exportDovecotUidlist(user: string): Promise<ExportResult> {
    const maildrop = await this.openMaildirMaildrop(user, { lastLogin: false });
    try {
      return await exportDovecotUidlist(this.layout(user), maildrop.snapshot);
    } catch (err) {
      throw toStoreError(err, `exporting the UID list of ${user} failed`);
    } finally {
      await maildrop.release();
    }
  }

  private layout(user: string): MaildirLayout {
    return maildirLayout(this.root, user);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${name} must be a positive number of milliseconds`);
  return value;
}

