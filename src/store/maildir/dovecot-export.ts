import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DOVECOT_UIDLIST_NAME, formatDovecotUidlist, parseDovecotUidlist } from './dovecot-uidlist.js';
import { replaceFileAtomic } from '../../fs/durable.js';
import type { MaildirLayout } from './layout.js';
import type { Snapshot } from './snapshot.js';
import { formatUidl } from './uid-index.js';

export interface ExportResult {
  readonly path: string;
  readonly messages: number;
}

/**
 * Writes the maildrop's dovecot-uidlist so that Dovecot, serving this Maildir next, shows
 * every message with the UIDL postel showed (in each record's P field, which Dovecot prefers
 * to its pop3_uidl_format) and in the same order (UIDs and UIDVALIDITY are postel's). The
 * mailbox GUID of an existing file is kept. Must run under the maildrop lock, with a snapshot
 * just taken, so that no message is missing. When run as root, the file goes to the owner of
 * the Maildir (Dovecot's mail user must be able to rewrite it).
 */
export async function exportDovecotUidlist(layout: MaildirLayout, snapshot: Snapshot): Promise<ExportResult> {
  const records = snapshot.messages.map((m) => ({ uid: m.uid, uidl: m.uidl ?? formatUidl(snapshot.uidValidity, m.uid), basename: m.basename }));
  const text = formatDovecotUidlist(snapshot.uidValidity, snapshot.nextUid, records, await existingGuid(layout));
  const owner = process.getuid?.() === 0 ? await stat(layout.dir) : undefined;
  await replaceFileAtomic(join(layout.dir, DOVECOT_UIDLIST_NAME), text, owner === undefined ? {} : { owner: { uid: owner.uid, gid: owner.gid } });
  return { path: join(layout.dir, DOVECOT_UIDLIST_NAME), messages: records.length };
}

async function existingGuid(layout: MaildirLayout): Promise<string | undefined> {
  try {
    return parseDovecotUidlist(await readFile(join(layout.dir, DOVECOT_UIDLIST_NAME), 'utf8')).guid;
  } catch {
    // Missing or unreadable: Dovecot gets a new mailbox GUID, as it would make one itself.
    return undefined;
  }
}
