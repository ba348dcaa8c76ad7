import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { silentLogger, type Logger } from '../../log/logger.js';
import type { DeliveryMeta, DeliveryResult, MailStore, Maildrop, OpenOptions } from '../types.js';
import { deliverToMaildir } from './deliver.js';
import { escapeHostname } from './file-names.js';
import { isErrno, toStoreError } from './fs-util.js';
import { ensureMaildir, maildirLayout, type MaildirLayout } from './layout.js';
import { MaildropLock, newLockToken } from './lock.js';
import { MaildirMaildrop } from './maildrop.js';
import { takeSnapshot } from './snapshot.js';
import { assertValidUserName } from './user-name.js';

export interface MaildirStoreOptions {
  /** The mail root (DATA/mail); each user's Maildir is ROOT/<user>. */
  readonly root: string;
  /** Goes into delivered file names; defaults to the system host name. */
  readonly hostname?: string;
  /** A lock not refreshed for this long is considered abandoned. Default 10 minutes. */
  readonly lockStaleMs?: number;
  /** How often a held lock's mtime is refreshed. Default 60 seconds (at most a third of lockStaleMs). */
  readonly lockRefreshMs?: number;
  readonly logger?: Logger;
}

const DEFAULT_LOCK_STALE_MS = 10 * 60 * 1000;
const DEFAULT_LOCK_REFRESH_MS = 60 * 1000;

/**
 * Mail kept in plain Maildirs at ROOT/<user>, readable by Dovecot (mail_location =
 * maildir:ROOT/%u) and writable by Postfix or procmail next to us. Deliveries need no lock;
 * a POP3 session holds an exclusive per-user lock and keeps UIDs in `postel-uidlist`.
 */
export class MaildirStore implements MailStore {
  private readonly root: string;
  private readonly escapedHostname: string;
  /** The lock's host is always the real one: pid liveness checks are only valid there. */
  private readonly lockHost = osHostname();
  private readonly lockToken = newLockToken();
  private readonly lockStaleMs: number;
  private readonly lockRefreshMs: number;
  private readonly logger: Logger;

  constructor(options: MaildirStoreOptions) {
    this.root = options.root;
    this.escapedHostname = escapeHostname(options.hostname ?? osHostname());
    this.lockStaleMs = positive(options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS, 'lockStaleMs');
    this.lockRefreshMs = positive(
      options.lockRefreshMs ?? Math.min(DEFAULT_LOCK_REFRESH_MS, Math.ceil(this.lockStaleMs / 3)),
      'lockRefreshMs',
    );
    this.logger = options.logger ?? silentLogger();
    if (this.lockRefreshMs >= this.lockStaleMs) {
      // Otherwise a live session's lock would look abandoned between two refreshes.
      throw new RangeError('lockRefreshMs must be shorter than lockStaleMs');
    }
  }

  async deliver(user: string, message: Readable | Uint8Array, meta: DeliveryMeta = {}): Promise<DeliveryResult> {
    assertValidUserName(user);
    const receivedAt = meta.receivedAt;
    const result = await deliverToMaildir(this.layout(user), message, {
      escapedHostname: this.escapedHostname,
      ...(receivedAt !== undefined && Number.isFinite(receivedAt.getTime()) ? { receivedAt } : {}),
    }).catch((err: unknown) => {
      this.logger.warn({ err, user }, 'delivery failed');
      throw err;
    });
    this.logger.debug({ user, id: result.id, size: result.size }, 'delivered');
    return result;
  }

  async openMaildrop(user: string, options: OpenOptions = {}): Promise<Maildrop> {
    assertValidUserName(user);
    const layout = this.layout(user);
    let lock: MaildropLock;
    try {
      await ensureMaildir(layout);
      lock = await MaildropLock.acquire({
        path: layout.lock,
        user,
        token: this.lockToken,
        host: this.lockHost,
        staleMs: this.lockStaleMs,
        refreshMs: this.lockRefreshMs,
        logger: this.logger,
      });
    } catch (err) {
      throw toStoreError(err, `opening the maildrop of ${user} failed`);
    }
    try {
      const fixedNow = options.now;
      const clock = fixedNow === undefined ? () => new Date() : () => fixedNow;
      const snapshot = await takeSnapshot(layout, {
        nowSecs: Math.floor(clock().getTime() / 1000),
        expireDays: options.expireDays,
        logger: this.logger,
      });
      const lastLoginAt = await readLastLogin(layout);
      return new MaildirMaildrop({ user, layout, lock, snapshot, lastLoginAt, clock, logger: this.logger });
    } catch (err) {
      await lock.release();
      this.logger.warn({ err, user }, 'could not take maildrop snapshot');
      throw toStoreError(err, `opening the maildrop of ${user} failed`);
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

async function readLastLogin(layout: MaildirLayout): Promise<Date | null> {
  let text: string;
  try {
    text = await readFile(join(layout.dir, layout.lastLoginName), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  const trimmed = text.trim();
  return /^\d{1,15}$/.test(trimmed) ? new Date(Number(trimmed)) : null;
}
