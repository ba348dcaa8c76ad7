import { readdir } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log/logger.js';
import { isErrno } from '../../fs/errno.js';
import { MaildirMaildrop } from '../maildir/maildrop.js';
import { MaildirStore } from '../maildir/maildir-store.js';
import { isValidUserName } from '../maildir/user-name.js';
import { mapLimit } from '../maildir/map-limit.js';
import { CHUNK_SIZE } from './blobs.js';
import type { ImportedMessage, PostgresStore } from './postgres-store.js';

export interface ImportCounts {
  readonly users: number;
  readonly imported: number;
  /** Already in the database (an earlier, perhaps interrupted, run copied them). */
  readonly skipped: number;
}

/** A batch is sent when it holds this many messages or this many octets. */
const BATCH_MESSAGES = 500;
const BATCH_OCTETS = 8 * 1024 * 1024;

/**
 * Copies Maildirs (MAILROOT/<user>) into the PostgreSQL store, keeping each message's UIDL,
 * wire size, arrival time and seen/retrieval state, in the Maildir's order. Messages of at
 * most one chunk go in batches of one transaction each (PostgresStore.importMessages),
 * larger ones streamed in a transaction of their own; a message whose UIDL is already there
 * is skipped, so a run that crashed is simply run again. Each Maildir is locked while it is
 * copied, so no POP3 session changes it meanwhile; the Maildirs themselves are left as they
 * are. `concurrency` maildrops are copied at a time (default 1).
 */
export async function importMaildirs(
  source: MaildirStore,
  target: PostgresStore,
  options: {
    readonly users?: readonly string[];
    readonly logger: Logger;
    readonly progress?: (user: string, counts: ImportCounts) => void;
    readonly concurrency?: number;
  },
): Promise<ImportCounts> {
  const users = options.users ?? (await maildirUsers(source.root));
  const counts = await mapLimit(users, options.concurrency ?? 1, async (user) => {
    const mine = await importMaildrop(source, target, user);
    options.progress?.(user, { users: 1, ...mine });
    return mine;
  });
  let imported = 0;
  let skipped = 0;
  for (const c of counts) {
    imported += c.imported;
    skipped += c.skipped;
  }
  return { users: users.length, imported, skipped };
}

async function importMaildrop(source: MaildirStore, target: PostgresStore, user: string): Promise<{ imported: number; skipped: number }> {
  const drop = await source.openMaildrop(user, { lastLogin: false });
  let imported = 0;
  let skipped = 0;
  let batch: ImportedMessage[] = [];
  let octets = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const copied = await target.importMessages(user, batch);
    imported += copied;
    skipped += batch.length - copied;
    batch = [];
    octets = 0;
  };
  try {
    if (!(drop instanceof MaildirMaildrop)) throw new Error('not a Maildir maildrop');
    for (let i = 0; i < drop.messages.length; i++) {
      const info = drop.messages[i] as { uid: string; size: number };
      const kept = { uidl: info.uid, ...drop.stateOf(i) };
      // The wire size is at least the stored size: a message within one chunk on the wire is one chunk stored.
      if (info.size <= CHUNK_SIZE) {
        const body = await readAll(await drop.openMessage(i));
        if (body.length <= CHUNK_SIZE) {
          batch.push({ body, kept });
          octets += body.length;
          if (batch.length >= BATCH_MESSAGES || octets >= BATCH_OCTETS) await flush();
          continue;
        }
      }
      await flush();
      if ((await target.importMessage(user, () => drop.openMessage(i), kept)) === null) skipped++;
      else imported++;
    }
    await flush();
  } finally {
    await drop.release();
  }
  return { imported, skipped };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) parts.push(chunk);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}

async function maildirUsers(mailRoot: string): Promise<string[]> {
  try {
    const entries = await readdir(mailRoot, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && isValidUserName(e.name)).map((e) => e.name).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}
