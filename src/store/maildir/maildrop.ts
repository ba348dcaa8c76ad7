import { rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log/logger.js';
import { fsyncDir } from '../../fs/durable.js';
import { isErrno, isNoSpace } from '../../fs/errno.js';
import type { LockFile } from '../../fs/lock-file.js';
import { MessageGoneError, StoreError, toStoreError } from '../errors.js';
import { MultilineFramer, type StoredBytes, type WireSource } from '../../message/wire-source.js';
import type { CommitChanges, Maildrop, MessageInfo, WireOptions } from '../types.js';
import { deliveryTimeFromName, hasFlag, nameWithFlag, parseFileName, storedSizeFromName } from './file-names.js';
import type { MaildirLayout } from './layout.js';
import { locateMessage } from './locate.js';
import { mapLimit } from './map-limit.js';
import { openMessageFile } from './message-file.js';
import {
  bufferStream,
  LARGE_MESSAGE,
  messageStream,
  readWholeFile,
  readWholeFileSync,
  reusedBufferReads,
  streamedBytes,
  WHOLE_READ_LIMIT,
} from './message-stream.js';
import type { BlockingGuard } from '../../fs/blocking-guard.js';
import type { MessageEntry, Snapshot } from './snapshot.js';
import { messageInfos } from './message-infos.js';
import { saveUidIndex } from './uid-index.js';
import { asciiStoredBytes } from '../../message/ascii-form.js';
import { recordLastLogin } from './last-login.js';

const IO_PARALLELISM = 16;

export interface MaildropContext {
  readonly user: string;
  readonly layout: MaildirLayout;
  readonly lock: LockFile;
  readonly snapshot: Snapshot;
  readonly lastLoginAt: Date | null;
  /** The session's clock; retrieval times recorded at commit come from it. */
  readonly clock: () => Date;
  readonly logger: Logger;
  /** Called when a commit that changes something starts: cached copies must not be reused. */
  readonly onCommit?: () => void;
  /** When small messages may be read with blocking calls; without it they never are. */
  readonly blocking?: BlockingGuard;
}

/** One locked POP3 session over a Maildir. */
export class MaildirMaildrop implements Maildrop {
  readonly user: string;
  readonly messages: readonly MessageInfo[];
  readonly lastLoginAt: Date | null;
  /** What the open found (UIDs, base names), for Maildir-specific tools such as the export. */
  readonly snapshot: Snapshot;
  private readonly entries: MessageEntry[];
  private closed = false;
  /** The next message, being read before it is asked for (see readNext). */
  private readAhead: { readonly index: number; readonly bytes: Promise<Buffer | null> } | null = null;

  constructor(private readonly context: MaildropContext) {
    this.user = context.user;
    this.lastLoginAt = context.lastLoginAt;
    this.snapshot = context.snapshot;
    this.entries = context.snapshot.messages;
    this.messages = messageInfos(context.snapshot);
  }

  async recordLogin(at: Date, options: { readonly durable?: boolean } = {}): Promise<void> {
    this.assertOpen();
    const { layout } = this.context;
    try {
      await recordLastLogin(layout, at, options.durable !== false, this.context.blocking);
    } catch (err) {
      // On a full disk a login that cannot be recorded still goes ahead: LOGIN-DELAY is not
      // enforced once, which beats locking everybody out of the mail that would free space.
      if (isNoSpace(err)) {
        this.context.logger.warn({ err, user: this.user }, 'login time not recorded (disk full)');
        return;
      }
      throw toStoreError(err, `recording login of ${this.user} failed`);
    }
  }

  async openMessage(index: number): Promise<Readable> {
    this.assertOpen();
    const entry = this.entryAt(index);
    const size = storedSizeFromName(entry.basename);
    const guard = this.context.blocking;
    if (guard?.allowed && size !== undefined && size < WHOLE_READ_LIMIT) {
      const bytes = guard.time(() => readWholeFileSync(this.pathOf(entry), size));
      if (bytes) return bufferStream(bytes);
    }
    const ahead = this.readAhead;
    this.readAhead = null;
    const early = ahead?.index === index ? await ahead.bytes : null;
    this.readNext(index);
    if (early) return bufferStream(early);
    // Another program (an IMAP server, a filter) may have renamed the file since the
    // snapshot, so a miss means "look again by base name" before it means "gone".
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await openMessageFile(this.pathOf(entry));
        return await messageStream(handle, size);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw toStoreError(err, `opening message ${index + 1} failed`);
      }
      if (!(await this.relocate(entry))) break;
    }
    throw new MessageGoneError(index);
  }

  async openWire(index: number, options: WireOptions = {}): Promise<WireSource> {
    const framer = new MultilineFramer(options.bodyLines);
    const size = this.messages[index]?.size ?? 0;
    this.assertOpen();
    const entry = this.entryAt(index);
    // A client without UTF8 gets a message with raw UTF-8 header fields in its ASCII form.
    const downgrade = options.ascii === true && entry.asciiSize !== null && entry.asciiSize !== undefined;
    if (framer.copiesInput && !downgrade) {
      // A small message in the page cache: read into the process's one read buffer and
      // framed before anything else can run, so the RETR allocates nothing but its output.
      const stored = storedSizeFromName(entry.basename);
      const guard = this.context.blocking;
      if (guard?.allowed && stored !== undefined && stored < WHOLE_READ_LIMIT) {
        const bytes = guard.time(() => readWholeFileSync(this.pathOf(entry), stored, true));
        if (bytes) return framer.frameWhole(bytes);
      }
    }
    // A large message whose chunks are copied out at once is read into one buffer over and
    // over; anything else comes as a stream, which makes a new buffer per read.
    const stored = framer.copiesInput && size >= LARGE_MESSAGE ? await this.readInto(index) : streamedBytes(await this.openMessage(index));
    return framer.frame(downgrade ? asciiStoredBytes(stored, size) : stored);
  }

  /** The message read again and again into one READ_BUFFER-sized buffer. */
  private async readInto(index: number): Promise<StoredBytes> {
    this.assertOpen();
    const entry = this.entryAt(index);
    for (let attempt = 0; attempt < 2; attempt++) {
      let handle: FileHandle;
      try {
        handle = await openMessageFile(this.pathOf(entry));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw toStoreError(err, `opening message ${index + 1} failed`);
        if (!(await this.relocate(entry))) break;
        continue;
      }
      return reusedBufferReads(handle);
    }
    throw new MessageGoneError(index);
  }

  async commit(changes: CommitChanges): Promise<void> {
    this.assertOpen();
    for (const i of changes.deleted) this.entryAt(i);
    for (const i of changes.retrieved) this.entryAt(i);
    this.closed = true;
    this.readAhead = null;
    const { lock, layout, logger } = this.context;
    const changing = changes.deleted.size > 0 || changes.retrieved.size > 0;
    if (changing) this.context.onCommit?.();
    try {
      // Nothing to write, nothing to guard: release() still checks ownership before unlinking.
      if (changing && !(await lock.isHeld())) {
        throw new StoreError(`maildrop lock of ${this.user} was lost; changes not applied`, true);
      }
      const deleted = [...changes.deleted].map((i) => this.entryAt(i));
      const retrieved = [...changes.retrieved].filter((i) => !changes.deleted.has(i)).map((i) => this.entryAt(i));
      const gone = new Set<MessageEntry>();
      // An unlink is its own record and needs no space, so deletions work on a full disk. If
      // the first one fails (read-only file system, permissions) nothing has been deleted and
      // the client hears so; the rest run in parallel.
      const [first, ...others] = deleted;
      if (first !== undefined) {
        if (!(await this.remove(first))) throw new StoreError(`could not delete from the maildrop of ${this.user}; nothing deleted`, true);
        gone.add(first);
      }
      const deleteFailed = await mapLimit(others, IO_PARALLELISM, async (e) => {
        const ok = await this.remove(e);
        if (ok) gone.add(e);
        return !ok;
      });
      const nowSecs = Math.floor(this.context.clock().getTime() / 1000);
      await mapLimit(retrieved, IO_PARALLELISM, async (e) => {
        // The first retrieval starts the EXPIRE clock; fetching again does not restart it.
        if (e.retrievedAt === 0) e.retrievedAt = nowSecs;
        if (!(await this.markSeen(e))) gone.add(e);
      });
      if (deleted.length > 0 || retrieved.length > 0) {
        await fsyncDir(layout.new);
        await fsyncDir(layout.cur);
        // Unchanged sessions skip this: on a large maildrop the index is megabytes.
        const { uidValidity, nextUid } = this.context.snapshot;
        try {
          await saveUidIndex(layout.dir, layout.indexName, {
            uidValidity,
            nextUid,
            entries: this.entries.filter((e) => !gone.has(e)),
          });
        } catch (err) {
          // The deletions are done (unlinks are their own record). An index still listing
          // deleted files is corrected at the next open; only retrieval times are lost.
          if (!isNoSpace(err)) throw err;
          logger.warn({ err, user: this.user }, 'UID index not rewritten (disk full); deletions are applied');
        }
      }
      const failures = deleteFailed.filter(Boolean).length;
      if (failures > 0) {
        throw new StoreError(`${failures} of ${deleted.length} deletions in the maildrop of ${this.user} failed`, true);
      }
    } catch (err) {
      logger.warn({ err, user: this.user }, 'maildrop commit incomplete');
      throw toStoreError(err, `commit of ${this.user} failed`);
    } finally {
      await lock.release();
    }
  }

  /** What moving a message to another store keeps besides its UIDL and bytes (db import-maildir). */
  stateOf(index: number): { readonly receivedAt: Date | null; readonly retrievedAt: Date | null; readonly seen: boolean } {
    const entry = this.entryAt(index);
    const micros = deliveryTimeFromName(entry.basename);
    return {
      receivedAt: micros === undefined ? null : new Date(Math.floor(micros / 1000)),
      retrievedAt: entry.retrievedAt > 0 ? new Date(entry.retrievedAt * 1000) : null,
      seen: entry.retrievedAt > 0 || hasFlag(parseFileName(entry.fileName).flags, 'S'),
    };
  }

  async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readAhead = null;
    await this.context.lock.release();
  }

  /**
   * Clients mostly fetch messages in order, each RETR waiting for the one before: reading the
   * next small message while this one is sent takes the file system's latency off the next
   * RETR. One message of at most WHOLE_READ_LIMIT bytes is held, and dropped at the end.
   */
  private readNext(index: number): void {
    // Reading synchronously, the next message will take microseconds when it is asked for.
    if (this.context.blocking?.allowed) return;
    const entry = this.entries[index + 1];
    const size = entry === undefined ? undefined : storedSizeFromName(entry.basename);
    if (entry === undefined || size === undefined || size >= WHOLE_READ_LIMIT) return;
    this.readAhead = { index: index + 1, bytes: readWholeFile(this.pathOf(entry), size) };
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError(`maildrop of ${this.user} is already closed`, false);
  }

  private entryAt(index: number): MessageEntry {
    const entry = Number.isInteger(index) ? this.entries[index] : undefined;
    if (entry === undefined) throw new RangeError(`no message ${index + 1} in the maildrop of ${this.user}`);
    return entry;
  }

  private pathOf(entry: MessageEntry): string {
    // Not join(): the directories are normalized already and a Maildir name has no slash,
    // and normalizing them again showed in profiles of RETR.
    return `${this.context.layout[entry.dir]}/${entry.fileName}`;
  }

  /** Finds a moved file by its base name; false when it is no longer in new/ or cur/. */
  private async relocate(entry: MessageEntry): Promise<boolean> {
    const found = await locateMessage(this.context.layout, entry.basename);
    if (found === null) return false;
    entry.dir = found.dir;
    entry.fileName = found.fileName;
    return true;
  }

  /** True once the file is gone, whoever removed it. */
  private async remove(entry: MessageEntry): Promise<boolean> {
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          await unlink(this.pathOf(entry));
          return true;
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
        if (!(await this.relocate(entry))) return true;
      }
      return false;
    } catch (err) {
      this.context.logger.warn({ err, user: this.user, fileName: entry.fileName }, 'could not delete message');
      return false;
    }
  }

  /**
   * Moves the file to cur/ with the Seen flag, as an IMAP client reading it would.
   * Returns false when the file has vanished. Failing to rename is not fatal: the
   * retrieval time in the index is what EXPIRE relies on.
   */
  private async markSeen(entry: MessageEntry): Promise<boolean> {
    try {
      for (let attempt = 0; attempt < 2; attempt++) {
        const { flags } = parseFileName(entry.fileName);
        if (entry.dir === 'cur' && hasFlag(flags, 'S')) return true;
        const target = nameWithFlag(entry.basename, flags, 'S');
        try {
          await rename(this.pathOf(entry), join(this.context.layout.cur, target));
          entry.dir = 'cur';
          entry.fileName = target;
          return true;
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
        }
        if (!(await this.relocate(entry))) return false;
      }
    } catch (err) {
      this.context.logger.warn({ err, user: this.user, fileName: entry.fileName }, 'could not mark message seen');
    }
    return true;
  }
}
