import type { Dirent } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Logger } from '../../log/logger.js';
import { WireSizeCounter } from '../../message/wire-size.js';
import type { UidlFormat } from './dovecot-uidl-format.js';
import { compareFileNames, deliveryTimeFromName, hasFlag, parseFileName, virtualSizeFromName, wireSizeFromName } from './file-names.js';
import { isErrno, isNoSpace } from '../../fs/errno.js';
import { loadInheritedUidls, type InheritedUidl } from './inherited-uidls.js';
import { mapLimit } from './map-limit.js';
import { openMessageFile } from './message-file.js';
import { asciiSizeOfFile, inspectFile } from './ascii-size.js';
import type { MaildirLayout } from './layout.js';
import { formatUidl, loadUidIndex, saveUidIndex, type IndexEntry, type UidIndex } from './uid-index.js';

export type Subdir = 'new' | 'cur';

/** An index entry plus where its file was last seen. */
export interface MessageEntry extends IndexEntry {
  dir: Subdir;
  fileName: string;
}

export interface Snapshot {
  readonly uidValidity: number;
  readonly nextUid: number;
  /** Ascending UIDs; exactly what the index now holds. */
  readonly messages: MessageEntry[];
  /** Whether taking it rewrote the index (something had changed). */
  readonly indexWritten: boolean;
  /** The index could not be rewritten (full disk): messages it does not number are left out. */
  readonly partial?: boolean;
}

export interface SnapshotOptions {
  readonly nowSecs: number;
  readonly expireDays: number | undefined;
  readonly logger: Logger;
  /** Also remove tmp/ files abandoned by dead deliveries (default true). */
  readonly cleanTmp?: boolean;
  /**
   * Dovecot's pop3_uidl_format: with it, messages new to the index keep the UIDL Dovecot or
   * Courier showed for them (inherited-uidls.ts); without it they always get postel's own.
   */
  readonly dovecotUidlFormat?: UidlFormat;
}

/** Maildir convention: a tmp/ file untouched this long belongs to a delivery that died. */
const TMP_MAX_AGE_MS = 36 * 3600 * 1000;
const IO_PARALLELISM = 32;

export interface Located {
  readonly basename: string;
  readonly dir: Subdir;
  readonly fileName: string;
  readonly flags: string;
}

/**
 * Brings the UID index in line with new/ and cur/ and returns the messages, oldest first.
 * Known files cost nothing beyond the directory listing; files the index has not seen yet
 * are ordered by the delivery time in their names (as Dovecot does) and sized by their W=,
 * and only stat'ed (for their mtime) or read (for their size) when names lack those.
 * Must run under the maildrop lock: it rewrites the index.
 */
export async function takeSnapshot(layout: MaildirLayout, options: SnapshotOptions): Promise<Snapshot> {
  const { index, created } = await loadUidIndex(layout.dir, layout.indexName, options.logger);
  let changed = created;
  const files = await listMessageFiles(layout, options.logger);

  const present: MessageEntry[] = [];
  const expired: MessageEntry[] = [];
  const maxAge = options.expireDays === undefined ? undefined : options.expireDays * 86400;
  for (const entry of index.entries) {
    const found = files.get(entry.basename);
    if (found === undefined) {
      changed = true;
      continue;
    }
    files.delete(entry.basename);
    // Spelled out: V8 copies an object spread here about 30 times slower, which is most of
    // opening a maildrop of 100,000 messages.
    const message: MessageEntry = { uid: entry.uid, size: entry.size, retrievedAt: entry.retrievedAt, basename: entry.basename, dir: found.dir, fileName: found.fileName };
    if (entry.uidl !== undefined) message.uidl = entry.uidl;
    if (entry.asciiSize !== undefined) message.asciiSize = entry.asciiSize;
    if (maxAge !== undefined && entry.retrievedAt > 0 && options.nowSecs - entry.retrievedAt >= maxAge) {
      expired.push(message);
      continue;
    }
    // Seen through another client (IMAP): the retrieval clock starts now. This comes after
    // the expiry check so such a message always survives the open that notices it.
    if (message.retrievedAt === 0 && found.dir === 'cur' && hasFlag(found.flags, 'S')) {
      message.retrievedAt = options.nowSecs;
      changed = true;
    }
    present.push(message);
  }

  const notRemoved = await removeExpired(layout, expired, options.logger);
  if (expired.length > notRemoved.length) changed = true;
  const messages = present.concat(notRemoved).sort((a, b) => a.uid - b.uid);

  const discovered = await describeUnindexed(layout, [...files.values()], options.logger);
  const inherited =
    discovered.length > 0 && options.dovecotUidlFormat !== undefined
      ? await loadInheritedUidls(layout.dir, options.dovecotUidlFormat, options.logger)
      : new Map<string, InheritedUidl>();
  // Messages another server listed keep its order (and so their message numbers) and come
  // first, as they did there; the rest follow in delivery order.
  const rank = (d: Described): [number, number] => {
    const from = inherited.get(d.found.basename);
    return from === undefined ? [2, d.order] : [from.source === 'dovecot' ? 0 : 1, from.order];
  };
  discovered.sort((a, b) => {
    const [ra, oa] = rank(a);
    const [rb, ob] = rank(b);
    return ra - rb || oa - ob || compareFileNames(a.found.basename, b.found.basename);
  });
  const claims = inherited.size > 0 ? new UidlClaims(index.uidValidity, messages) : undefined;
  let nextUid = index.nextUid;
  for (const { found, size, asciiSize } of discovered) {
    const seen = found.dir === 'cur' && hasFlag(found.flags, 'S');
    const from = inherited.get(found.basename);
    const claim = from === undefined ? undefined : claims?.claim(from.uidl, nextUid);
    if (claim === undefined && from !== undefined) {
      options.logger.warn({ dir: layout.dir, basename: found.basename, uidl: from.uidl, source: from.source }, 'not keeping an inherited UIDL that is malformed or already shown; the message gets a new one');
    }
    const message: MessageEntry = {
      uid: nextUid++,
      size,
      retrievedAt: seen ? options.nowSecs : 0,
      basename: found.basename,
      dir: found.dir,
      fileName: found.fileName,
    };
    if (asciiSize !== undefined) message.asciiSize = asciiSize;
    if (claim !== undefined) nextUid = Math.max(nextUid, claim.nextUid);
    messages.push(claim === undefined ? message : { ...message, uidl: claim.uidl });
    changed = true;
  }

  // Indexes from before version 3, and new messages: how a client without UTF8 gets them.
  let inspected = 0;
  for (const m of messages) {
    if (m.asciiSize !== undefined) continue;
    // Blocking reads of one header take microseconds; yield now and then on a large maildrop.
    if (++inspected % 1000 === 0) await yieldToEventLoop();
    m.asciiSize = asciiSizeOfFile(join(layout[m.dir], m.fileName), m.size) ?? null;
    changed = true;
  }

  if (options.cleanTmp !== false) await cleanAbandonedTmp(layout, options.logger);

  const updated: UidIndex = { uidValidity: index.uidValidity, nextUid, entries: messages };
  if (changed) {
    try {
      await saveUidIndex(layout.dir, layout.indexName, updated);
    } catch (err) {
      if (!isNoSpace(err)) throw err;
      // A UID handed out must be on disk first: after a DELE the next session would give a
      // remaining message the same UIDL, and a client keeping mail on the server would never
      // download it. So on a full disk the session shows only what the index on disk numbers
      // (and can delete them, which frees space); the rest appear once the index can be written.
      const known = created ? [] : messages.filter((m) => m.uid < index.nextUid);
      options.logger.warn({ dir: layout.dir, hidden: messages.length - known.length, err }, 'UID index cannot be written (disk full); new messages are left out of this session');
      return { uidValidity: index.uidValidity, nextUid: index.nextUid, messages: known, indexWritten: false, partial: true };
    }
  }
  return { uidValidity: index.uidValidity, nextUid, messages, indexWritten: changed };
}

/**
 * Keeps inherited UIDLs unique among everything the maildrop shows, now and later: a UIDL
 * already shown is refused, and one that has postel's own shape for this UID validity
 * (another postel node's, or a coincidence) either moves the UID counter past it or, when
 * postel may have shown it already for another message, is refused. Refused messages get
 * postel's own UIDL: downloaded once more, but never mistaken for another message.
 */
class UidlClaims {
  private readonly shown = new Set<string>();
  private readonly ownShape: RegExp;

  constructor(uidValidity: number, messages: readonly MessageEntry[]) {
    for (const m of messages) this.shown.add(m.uidl ?? formatUidl(uidValidity, m.uid));
    this.ownShape = new RegExp(`^${formatUidl(uidValidity, 0).slice(0, 8)}([0-9A-F]{8})$`);
  }

  /** The UIDL to keep and the least next UID after it, or undefined to refuse it. */
  claim(uidl: string, nextUid: number): { readonly uidl: string; readonly nextUid: number } | undefined {
    if (!/^[\x21-\x7e]{1,70}$/.test(uidl) || this.shown.has(uidl)) return undefined;
    let after = nextUid + 1;
    const own = this.ownShape.exec(uidl);
    if (own !== null) {
      const uid = parseInt(own[1] as string, 16);
      // Below nextUid it may have been shown for a message since deleted; at or above it,
      // the counter skips it. UIDs near 2^32 would leave no room and are refused too.
      if (uid < nextUid || uid >= 0x7fffffff) return undefined;
      after = Math.max(after, uid + 1);
    }
    this.shown.add(uidl);
    return { uidl, nextUid: after };
  }
}

export async function listMessageFiles(layout: MaildirLayout, logger: Logger): Promise<Map<string, Located>> {
  const files = new Map<string, Located>();
  for (const dir of ['cur', 'new'] as const) {
    for (const dirent of await readdirOrEmpty(layout[dir])) {
      const fileName = dirent.name;
      if (fileName.charCodeAt(0) === 46) continue;
      if (!dirent.isFile() && !(await isRegularFile(dirent, join(layout[dir], fileName)))) {
        warnOnce(logger, join(layout[dir], fileName), 'skipping maildir entry that is not a regular file (symlink, directory, FIFO or device)');
        continue;
      }
      if (fileName.includes('\n') || fileName.includes('\r')) {
        // The index is line-based and could not record it.
        logger.warn({ dir: layout[dir], fileName }, 'ignoring maildir file with a line break in its name');
        continue;
      }
      const colon = fileName.indexOf(':');
      const basename = colon < 0 ? fileName : fileName.slice(0, colon);
      if (basename === '') continue;
      if (files.has(basename)) {
        logger.warn({ dir: layout.dir, basename }, 'two maildir files share a base name; using one');
        continue;
      }
      files.set(basename, { basename, dir, fileName, flags: colon < 0 ? '' : parseFileName(fileName).flags });
    }
  }
  return files;
}

/**
 * Some file systems do not report entry types in listings (DT_UNKNOWN): only those entries
 * cost an lstat, which never follows a link.
 */
async function isRegularFile(dirent: Dirent, path: string): Promise<boolean> {
  if (dirent.isSymbolicLink() || dirent.isDirectory() || dirent.isFIFO() || dirent.isSocket() || dirent.isBlockDevice() || dirent.isCharacterDevice()) return false;
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

/** Paths already reported, so a planted entry is logged once, not at every login. */
const reported = new Set<string>();
const MAX_REPORTED = 10_000;

function warnOnce(logger: Logger, path: string, message: string): void {
  if (reported.has(path)) return;
  if (reported.size >= MAX_REPORTED) reported.clear();
  reported.add(path);
  logger.warn({ path }, message);
}

async function readdirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/** Returns the entries whose file could not be removed; they stay in the maildrop. */
async function removeExpired(layout: MaildirLayout, expired: MessageEntry[], logger: Logger): Promise<MessageEntry[]> {
  const failed = await mapLimit(expired, IO_PARALLELISM, async (m) => {
    try {
      await unlink(join(layout[m.dir], m.fileName));
      return undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      logger.warn({ err, dir: layout.dir, fileName: m.fileName }, 'could not remove expired message');
      return m;
    }
  });
  const notRemoved = failed.filter((m): m is MessageEntry => m !== undefined);
  const removed = expired.length - notRemoved.length;
  if (removed > 0) logger.info({ dir: layout.dir, count: removed }, 'expired retrieved messages');
  return notRemoved;
}

export interface Described {
  readonly found: Located;
  /** When the file was read for its size already: the size of its ASCII form. */
  readonly asciiSize?: number | null;
  /** Delivery time in microseconds: from the name when it carries one, else the mtime. */
  readonly order: number;
  readonly size: number;
}

/**
 * Sizes and delivery times of files new to the index. A name in the usual form carries
 * both (`<secs>.M<usecs>...,W=<size>`): when every new name does, they cost little I/O,
 * which matters when a maildrop of 100,000 messages is opened for the first time. postel's
 * own names cost none; Dovecot's W= needs the file's last byte (see wireSizeFromName).
 * Otherwise all are ordered by mtime (a name's exact time and another file's coarse mtime
 * do not compare well), and files without W= are read for their size.
 */
export async function describeUnindexed(layout: MaildirLayout, found: Located[], logger: Logger): Promise<Described[]> {
  const described: Described[] = [];
  const virtual: { readonly found: Located; readonly order: number; readonly size: number }[] = [];
  let named = true;
  for (const f of found) {
    const order = deliveryTimeFromName(f.basename);
    const size = wireSizeFromName(f.basename);
    const vsize = size === undefined ? virtualSizeFromName(f.basename) : undefined;
    if (order === undefined || (size === undefined && vsize === undefined)) {
      named = false;
      break;
    }
    if (size !== undefined) described.push({ found: f, order, size });
    else virtual.push({ found: f, order, size: vsize as number });
  }
  if (named) {
    for (let i = 0; i < virtual.length; i++) {
      // Blocking reads of one byte take microseconds; yielding now and then keeps other
      // sessions served while a large maildrop is opened for the first time.
      if (i % 1000 === 999) await yieldToEventLoop();
      const v = virtual[i] as (typeof virtual)[number];
      const path = join(layout[v.found.dir], v.found.fileName);
      const seen = inspectFile(path, (endsWithLf) => v.size + (endsWithLf ? 0 : 2));
      if (seen !== undefined) described.push({ found: v.found, order: v.order, size: seen.wire, asciiSize: seen.asciiSize });
    }
    return described;
  }
  const read = await mapLimit(found, IO_PARALLELISM, async (f): Promise<Described | undefined> => {
    const path = join(layout[f.dir], f.fileName);
    try {
      const info = await lstat(path);
      if (!info.isFile()) return undefined;
      const order = Math.floor(info.mtimeMs * 1000);
      const vsize = virtualSizeFromName(f.basename);
      const known = wireSizeFromName(f.basename);
      if (known !== undefined) return { found: f, order, size: known };
      if (vsize !== undefined) {
        const seen = inspectFile(path, (endsWithLf) => vsize + (endsWithLf ? 0 : 2));
        return seen === undefined ? undefined : { found: f, order, size: seen.wire, asciiSize: seen.asciiSize };
      }
      return { found: f, order, size: await wireSizeOfFile(path) };
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) logger.warn({ err, path }, 'skipping unreadable maildir file');
      return undefined;
    }
  });
  return read.filter((d): d is Described => d !== undefined);
}

async function wireSizeOfFile(path: string): Promise<number> {
  const counter = new WireSizeCounter();
  const handle = await openMessageFile(path);
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) counter.push(chunk as Buffer);
  } finally {
    await handle.close();
  }
  return counter.size;
}

/** Removes tmp/ files of deliveries that died (older than TMP_MAX_AGE_MS). */
export async function cleanAbandonedTmp(layout: MaildirLayout, logger: Logger): Promise<void> {
  const cutoff = Date.now() - TMP_MAX_AGE_MS;
  const names = (await readdirOrEmpty(layout.tmp)).map((d) => d.name);
  await mapLimit(names, IO_PARALLELISM, async (name) => {
    const path = join(layout.tmp, name);
    try {
      const info = await lstat(path);
      if (info.isFile() && info.mtimeMs < cutoff) {
        await unlink(path);
        logger.info({ path }, 'removed abandoned tmp file');
      }
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) logger.warn({ err, path }, 'could not clean tmp file');
    }
  });
}
