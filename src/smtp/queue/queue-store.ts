import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { replaceFileAtomic, writeStream } from '../../fs/durable.js';
import { isErrno } from '../../fs/errno.js';
import type { Logger } from '../../log/logger.js';

export interface QueueRecipient {
  readonly address: string;
  /** The maildrop for a local recipient; absent for one sent through the smarthost. */
  readonly user?: string;
  state: 'pending' | 'delivered' | 'failed';
  /** RFC 3463 status and the reply that decided it, for the bounce. */
  status?: string;
  diagnostic?: string;
}

export interface QueueEntry {
  readonly id: string;
  /** Envelope sender; empty for a bounce (never bounced again). */
  readonly from: string;
  readonly createdAt: string;
  attempts: number;
  nextAttemptAt: string;
  readonly recipients: QueueRecipient[];
}

/**
 * The on-disk queue, DATA/queue/: `ID.msg` holds the message (CRLF, trace fields included,
 * no Return-Path), `ID.json` the envelope and delivery state. An entry exists once its
 * .json is renamed into place, after both files were fsynced; a .msg without a .json is
 * debris from a crash and is removed by sweep().
 */
export class QueueStore {
  constructor(readonly dir: string) {}

  messagePath(id: string): string {
    return join(this.dir, `${id}.msg`);
  }

  /** Stores a new entry durably; `message` is consumed. Resolves once it survives a crash. */
  async add(entry: Omit<QueueEntry, 'id'>, message: Readable): Promise<QueueEntry> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const id = `${Date.now().toString(36)}.${randomBytes(6).toString('hex')}`;
    const msgPath = this.messagePath(id);
    try {
      const handle = await open(msgPath, 'wx', 0o600);
      try {
        await writeStream(handle, message);
        await handle.sync();
      } finally {
        await handle.close();
      }
      const full: QueueEntry = { id, ...entry };
      await this.save(full);
      return full;
    } catch (err) {
      await unlink(msgPath).catch(() => undefined);
      await unlink(join(this.dir, `${id}.json`)).catch(() => undefined);
      throw err;
    }
  }

  /** Replaces the entry's state atomically (temp file, fsync, rename, fsync of the directory). */
  async save(entry: QueueEntry): Promise<void> {
    await replaceFileAtomic(join(this.dir, `${entry.id}.json`), JSON.stringify(entry));
  }

  /** The queue directory's entries; none before the first add() created it. */
  private async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
  }

  async remove(id: string): Promise<void> {
    // The state goes first: a crash in between leaves debris for sweep(), not an entry without its message.
    await unlink(join(this.dir, `${id}.json`)).catch(() => undefined);
    await unlink(this.messagePath(id)).catch(() => undefined);
  }

  async list(): Promise<QueueEntry[]> {
    const names = await this.names();
    const entries: QueueEntry[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      try {
        entries.push(JSON.parse(await readFile(join(this.dir, name), 'utf8')) as QueueEntry);
      } catch {
        // Vanished (delivered by now) or unreadable: the next pass sees it again or never.
      }
    }
    return entries;
  }

  /**
   * Checks that every entry has both halves. Debris older than `minAgeMs` (younger may be an
   * add() in progress in another process on this data directory) is removed and logged: a
   * `.msg` without its `.json` (never acknowledged: the .json comes last) and temp files of
   * an interrupted save. Entries whose `.msg` is gone are returned, for the caller to settle.
   */
  async sweep(minAgeMs: number, logger?: Logger): Promise<QueueEntry[]> {
    const names = await this.names();
    const present = new Set(names);
    const orphans: QueueEntry[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.endsWith('.json')) {
        if (present.has(`${name.slice(0, -5)}.msg`)) continue;
        try {
          orphans.push(JSON.parse(await readFile(path, 'utf8')) as QueueEntry);
        } catch (err) {
          logger?.error({ err, path }, 'unreadable queue entry left in place');
        }
        continue;
      }
      const debris = (name.endsWith('.msg') && !present.has(`${name.slice(0, -4)}.json`)) || (name.startsWith('.') && name.endsWith('.tmp'));
      if (!debris) continue;
      const info = await stat(path).catch(() => undefined);
      if (info === undefined || Date.now() - info.mtimeMs < minAgeMs) continue;
      await unlink(path).catch(() => undefined);
      logger?.warn({ event: 'queue_debris_removed', path }, 'removed a queue file left by an interrupted write (never acknowledged)');
    }
    return orphans;
  }
}
