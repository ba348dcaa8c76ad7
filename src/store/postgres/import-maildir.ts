import { readdir } from 'node:fs/promises';
import type { Logger } from '../../log/logger.js';
import { isErrno } from '../../fs/errno.js';
import { MaildirMaildrop } from '../maildir/maildrop.js';
import { MaildirStore } from '../maildir/maildir-store.js';
import { isValidUserName } from '../maildir/user-name.js';
import type { PostgresStore } from './postgres-store.js';

export interface ImportCounts {
  readonly users: number;
  readonly imported: number;
  /** Already in the database (an earlier, perhaps interrupted, run copied them). */
  readonly skipped: number;
}

/**
 * Copies Maildirs (MAILROOT/<user>) into the PostgreSQL store, keeping each message's UIDL,
 * wire size, arrival time and seen/retrieval state. Each message is its own transaction and
 * is skipped when its UIDL is already there, so a run that crashed is simply run again.
 * Each Maildir is locked while it is copied, so no POP3 session changes it meanwhile; the
 * Maildirs themselves are left as they are.
 */
export async function importMaildirs(
  source: MaildirStore,
  target: PostgresStore,
  options: { readonly users?: readonly string[]; readonly logger: Logger; readonly progress?: (user: string, counts: ImportCounts) => void },
): Promise<ImportCounts> {
  const users = options.users ?? (await maildirUsers(source.root));
  let imported = 0;
  let skipped = 0;
  for (const user of users) {
    const drop = await source.openMaildrop(user, { lastLogin: false });
    let mine = { imported: 0, skipped: 0 };
    try {
      if (!(drop instanceof MaildirMaildrop)) throw new Error('not a Maildir maildrop');
      for (let i = 0; i < drop.messages.length; i++) {
        const info = drop.messages[i] as { uid: string };
        const copied = await target.importMessage(user, () => drop.openMessage(i), { uidl: info.uid, ...drop.stateOf(i) });
        if (copied === null) mine = { ...mine, skipped: mine.skipped + 1 };
        else mine = { ...mine, imported: mine.imported + 1 };
      }
    } finally {
      await drop.release();
    }
    imported += mine.imported;
    skipped += mine.skipped;
    options.progress?.(user, { users: 1, ...mine });
  }
  return { users: users.length, imported, skipped };
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
