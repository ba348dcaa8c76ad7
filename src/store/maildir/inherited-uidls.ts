import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { COURIER_POP3_LIST_NAME, parseCourierPop3List } from './courier-pop3-list.js';
import { DOVECOT_UIDLIST_NAME, parseDovecotUidlist } from './dovecot-uidlist.js';
import type { UidlFormat } from './dovecot-uidl-format.js';
import { isErrno } from '../../fs/errno.js';

/** A UIDL another POP3 server showed for a file, and where that server listed it. */
export interface InheritedUidl {
  readonly uidl: string;
  readonly source: 'dovecot' | 'courier';
  /** The other server's UID: messages keep the order they had there. */
  readonly order: number;
}

/**
 * The UIDLs Dovecot (dovecot-uidlist) and Courier (courierpop3dsizelist) showed for the files
 * of a Maildir, by base name, so that messages postel meets for the first time keep them and
 * clients that leave mail on the server do not download it all again. Dovecot's win when
 * both know a file: a Maildir that went from Courier to Dovecot was last served by Dovecot.
 * A file that cannot be read or parsed is logged and contributes nothing (the messages then
 * get postel's own UIDLs, as they would without it).
 */
export async function loadInheritedUidls(dir: string, dovecotFormat: UidlFormat, logger: Logger): Promise<Map<string, InheritedUidl>> {
  const found = new Map<string, InheritedUidl>();
  const courier = await readOptional(join(dir, COURIER_POP3_LIST_NAME), logger);
  if (courier !== undefined) {
    try {
      for (const r of parseCourierPop3List(courier)) found.set(r.basename, { uidl: r.uidl, source: 'courier', order: r.uid });
    } catch (err) {
      logger.warn({ err, dir, file: COURIER_POP3_LIST_NAME }, 'ignoring unreadable Courier POP3 list');
    }
  }
  const dovecot = await readOptional(join(dir, DOVECOT_UIDLIST_NAME), logger);
  if (dovecot !== undefined) {
    try {
      const list = parseDovecotUidlist(dovecot);
      for (const r of list.records) {
        const saved = r.fields.get('P');
        const uidl =
          saved === undefined
            ? dovecotFormat({ uid: r.uid, uidValidity: list.uidValidity, basename: r.basename, ...(r.fields.has('G') ? { guid: r.fields.get('G') as string } : {}) })
            : saved === ''
              ? r.basename
              : saved;
        found.set(r.basename, { uidl, source: 'dovecot', order: r.uid });
      }
    } catch (err) {
      logger.warn({ err, dir, file: DOVECOT_UIDLIST_NAME }, 'ignoring unreadable dovecot-uidlist');
    }
  }
  return found;
}

async function readOptional(path: string, logger: Logger): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    logger.warn({ err, path }, 'cannot read another server\'s UID list');
    return undefined;
  }
}
