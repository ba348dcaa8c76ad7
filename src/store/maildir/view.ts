import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../../log/logger.js';
import { isErrno } from '../../fs/errno.js';
import { readFileIfExists } from '../../fs/read-if-exists.js';
import { MessageGoneError, toStoreError } from '../errors.js';
import type { MaildropView, ViewMessage } from '../types.js';
import { hasFlag, storedSizeFromName } from './file-names.js';
import type { MaildirLayout } from './layout.js';
import { locateMessage } from './locate.js';
import { openMessageFile } from './message-file.js';
import { messageStream } from './message-stream.js';
import { describeUnindexed, listMessageFiles, type Snapshot, type Subdir } from './snapshot.js';
import { formatUidl, IndexFormatError, parseUidIndex, type UidIndex } from './uid-index.js';

interface ViewEntry extends ViewMessage {
  readonly basename: string;
  dir: Subdir;
  fileName: string;
}

/** What a look at new/, cur/ and the UID index found, without writing anything. */
export interface MaildirReading {
  /** Files in new/ or cur/ that the index does not number yet (or there is no usable index). */
  readonly unindexed: number;
  /** The view, with `~` names for the unnumbered messages. */
  view(): Promise<MaildropView>;
}

/**
 * Reads the maildrop as it is, taking no lock and writing nothing: the UID index gives the
 * UIDLs, the listing says which messages are still there. Messages the index does not know
 * yet (delivered since the last open) can only be numbered under the lock; the caller does
 * that when it can and otherwise shows them under their provisional `~` names.
 */
export async function readMaildir(user: string, layout: MaildirLayout, logger: Logger): Promise<MaildirReading> {
  const index = await readIndexQuietly(layout);
  const files = await listMessageFiles(layout, logger);
  const entries: ViewEntry[] = [];
  if (index !== null) {
    for (const e of index.entries) {
      const found = files.get(e.basename);
      if (found === undefined) continue;
      files.delete(e.basename);
      const seen = e.retrievedAt > 0 || (found.dir === 'cur' && hasFlag(found.flags, 'S'));
      entries.push({ id: e.uidl ?? formatUidl(index.uidValidity, e.uid), size: e.size, seen, basename: e.basename, dir: found.dir, fileName: found.fileName });
    }
  }
  const rest = [...files.values()];
  return {
    unindexed: rest.length,
    async view() {
      const described = await describeUnindexed(layout, rest, logger);
      described.sort((a, b) => a.order - b.order);
      for (const d of described) {
        const seen = d.found.dir === 'cur' && hasFlag(d.found.flags, 'S');
        entries.push({ id: provisionalId(d.found.basename), size: d.size, seen, basename: d.found.basename, dir: d.found.dir, fileName: d.found.fileName });
      }
      return new MaildirView(user, layout, entries);
    },
  };
}

/** The view of a snapshot just taken under the lock: every message has its UIDL. */
export function viewOfSnapshot(user: string, layout: MaildirLayout, snapshot: Snapshot): MaildropView {
  return new MaildirView(
    user,
    layout,
    snapshot.messages.map((m) => ({ id: m.uidl ?? formatUidl(snapshot.uidValidity, m.uid), size: m.size, seen: m.retrievedAt > 0, basename: m.basename, dir: m.dir, fileName: m.fileName })),
  );
}

/**
 * The name of a message that has no UIDL yet: a digest of its Maildir base name, which is
 * unique and never changes, so the name keeps finding the message after it is numbered.
 */
export function provisionalId(basename: string): string {
  return `~${createHash('sha256').update(basename).digest('base64url').slice(0, 22)}`;
}

/** The index as it is on disk; null when there is none or it cannot be read (the next open rebuilds it). */
async function readIndexQuietly(layout: MaildirLayout): Promise<UidIndex | null> {
  const text = await readFileIfExists(join(layout.dir, layout.indexName), 'utf8');
  if (text === null) return null;
  try {
    return parseUidIndex(text);
  } catch (err) {
    if (err instanceof IndexFormatError) return null;
    throw err;
  }
}

class MaildirView implements MaildropView {
  private provisional: Map<string, number> | undefined;

  constructor(
    readonly user: string,
    private readonly layout: MaildirLayout,
    readonly messages: readonly ViewEntry[],
  ) {}

  indexOf(id: string): number {
    if (!id.startsWith('~')) return this.messages.findIndex((m) => m.id === id);
    this.provisional ??= new Map(this.messages.map((m, i) => [provisionalId(m.basename), i]));
    return this.provisional.get(id) ?? -1;
  }

  async openMessage(index: number): Promise<Readable> {
    const entry = Number.isInteger(index) ? this.messages[index] : undefined;
    if (entry === undefined) throw new RangeError(`no message ${index + 1} in the view of ${this.user}`);
    // A POP3 session may have marked it seen (moved it to cur/) or deleted it since.
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await openMessageFile(join(this.layout[entry.dir], entry.fileName));
        return await messageStream(handle, storedSizeFromName(entry.basename));
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw toStoreError(err, `opening message ${index + 1} failed`);
      }
      const found = await locateMessage(this.layout, entry.basename);
      if (found === null) break;
      entry.dir = found.dir;
      entry.fileName = found.fileName;
    }
    throw new MessageGoneError(index);
  }
}
