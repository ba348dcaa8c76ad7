import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceFileAtomic } from '../../fs/durable.js';
import { isErrno } from '../../fs/errno.js';
import type { MaildirLayout } from './layout.js';
import type { MessageEntry, Snapshot } from './snapshot.js';
import { IndexFormatError, parseUidIndex } from './uid-index.js';

/*
 * Where each indexed message's file was, persisted beside the index, so that a process that
 * has not seen a maildrop (another POP3 worker: the kernel hands connections to any of them)
 * opens an unchanged one without listing new/ and cur/. For 100,000 messages the listing and
 * matching it against the index is most of an uncached open. The file is reused under the
 * SnapshotCache's rule and no other: it names the identity of the index file and of both
 * directories when it was written, and counts only while all three are exactly that.
 *
 * Format (one line each):
 *   postel-snapshot 1 <count>
 *   <identity>
 *   then per index entry, in index order: n or c (new/ or cur/), then what the file's name
 *   adds to its base name (usually nothing in new/, ":2,S" or the like in cur/)
 */
export const SNAPSHOT_FILE = 'postel-snapshot';
const MAGIC = 'postel-snapshot 1';

/** Writes where the snapshot's messages are, valid while the maildrop has `identity`. */
export async function saveSnapshotFile(layout: MaildirLayout, identity: string, snapshot: Snapshot): Promise<void> {
  const lines = [`${MAGIC} ${snapshot.messages.length}`, identity];
  for (const m of snapshot.messages) lines.push((m.dir === 'new' ? 'n' : 'c') + m.fileName.slice(m.basename.length));
  await replaceFileAtomic(join(layout.dir, SNAPSHOT_FILE), lines.join('\n') + '\n');
}

/**
 * The snapshot from the index and the file above, when the file was written for exactly
 * this `identity` and agrees with the index; null otherwise (the caller lists the maildrop).
 */
export async function loadSnapshotFile(layout: MaildirLayout, identity: string): Promise<Snapshot | null> {
  let located: string;
  let indexText: string;
  try {
    [located, indexText] = await Promise.all([readFile(join(layout.dir, SNAPSHOT_FILE), 'utf8'), readFile(join(layout.dir, layout.indexName), 'utf8')]);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  const headerEnd = located.indexOf('\n');
  const identityEnd = headerEnd < 0 ? -1 : located.indexOf('\n', headerEnd + 1);
  if (identityEnd < 0 || located.slice(headerEnd + 1, identityEnd) !== identity) return null;
  let index;
  try {
    index = parseUidIndex(indexText);
  } catch (err) {
    // A broken index is takeSnapshot's to set aside and rebuild.
    if (err instanceof IndexFormatError) return null;
    throw err;
  }
  if (located.slice(0, headerEnd) !== `${MAGIC} ${index.entries.length}`) return null;
  const messages: MessageEntry[] = [];
  let pos = identityEnd + 1;
  for (const e of index.entries) {
    const end = located.indexOf('\n', pos);
    if (end < 0) return null;
    const where = located.charCodeAt(pos);
    if (where !== 110 && where !== 99) return null;
    const fileName = e.basename + located.slice(pos + 1, end);
    // Spelled out, as in takeSnapshot: V8 copies an object spread here many times slower.
    const message: MessageEntry = { uid: e.uid, size: e.size, retrievedAt: e.retrievedAt, basename: e.basename, dir: where === 110 ? 'new' : 'cur', fileName };
    if (e.uidl !== undefined) message.uidl = e.uidl;
    if (e.asciiSize !== undefined) message.asciiSize = e.asciiSize;
    messages.push(message);
    pos = end + 1;
  }
  if (pos !== located.length) return null;
  return { uidValidity: index.uidValidity, nextUid: index.nextUid, messages, indexWritten: false };
}
