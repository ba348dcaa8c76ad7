import { readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { isErrno, writeFileAtomic } from './fs-util.js';

/**
 * `postel-uidlist`: the UID, wire size and retrieval time of every message, so an open
 * needs neither a stat nor a read per message. Format, one record per line:
 *   postel-uidlist 1 <uidvalidity> <nextuid>
 *   <uid> <wireSize> <retrievedAtEpochSeconds or 0> <basename>
 */
const MAGIC = 'postel-uidlist';
const VERSION = '1';
const MAX_UID = 0xffffffff;

export interface IndexEntry {
  readonly uid: number;
  readonly size: number;
  /** Epoch seconds of the first full retrieval (or of finding the Seen flag); 0 if never. */
  retrievedAt: number;
  readonly basename: string;
}

export interface UidIndex {
  readonly uidValidity: number;
  nextUid: number;
  /** In ascending UID order. */
  entries: IndexEntry[];
}

export class IndexFormatError extends Error {
  override readonly name = 'IndexFormatError';
}

/** 16 hex digits: UIDs restart after a rebuild, so the validity must be part of the UIDL. */
export function formatUidl(uidValidity: number, uid: number): string {
  return hex8(uidValidity) + hex8(uid);
}

function hex8(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

export function formatUidIndex(index: UidIndex): string {
  const lines = [`${MAGIC} ${VERSION} ${index.uidValidity} ${index.nextUid}`];
  for (const e of index.entries) lines.push(`${e.uid} ${e.size} ${e.retrievedAt} ${e.basename}`);
  return lines.join('\n') + '\n';
}

export function parseUidIndex(text: string): UidIndex {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = (lines[0] ?? '').split(' ');
  if (header.length !== 4 || header[0] !== MAGIC || header[1] !== VERSION) {
    throw new IndexFormatError('bad header');
  }
  const uidValidity = parseCount(header[2], 'uidvalidity');
  const nextUid = parseCount(header[3], 'nextuid');
  if (uidValidity === 0 || uidValidity > MAX_UID || nextUid === 0) throw new IndexFormatError('bad header values');
  const entries: IndexEntry[] = [];
  const seenBasenames = new Set<string>();
  let lastUid = 0;
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n] ?? '';
    const s1 = line.indexOf(' ');
    const s2 = line.indexOf(' ', s1 + 1);
    const s3 = line.indexOf(' ', s2 + 1);
    if (s1 < 0 || s2 < 0 || s3 < 0) throw new IndexFormatError(`line ${n + 1}: too few fields`);
    const uid = parseCount(line.slice(0, s1), `line ${n + 1} uid`);
    const size = parseCount(line.slice(s1 + 1, s2), `line ${n + 1} size`);
    const retrievedAt = parseCount(line.slice(s2 + 1, s3), `line ${n + 1} retrieval time`);
    const basename = line.slice(s3 + 1);
    // Ascending, below nextuid and unique: otherwise a UIDL could be handed out twice.
    if (uid <= lastUid || uid >= nextUid) throw new IndexFormatError(`line ${n + 1}: uid out of order`);
    if (basename === '' || basename.includes(':') || seenBasenames.has(basename)) {
      throw new IndexFormatError(`line ${n + 1}: bad or duplicate file name`);
    }
    seenBasenames.add(basename);
    lastUid = uid;
    entries.push({ uid, size, retrievedAt, basename });
  }
  return { uidValidity, nextUid, entries };
}

function parseCount(field: string | undefined, what: string): number {
  if (field === undefined || !/^\d{1,15}$/.test(field)) throw new IndexFormatError(`bad ${what}`);
  return Number(field);
}

export interface LoadedIndex {
  readonly index: UidIndex;
  /** True when the index is new or rebuilt and must be written. */
  readonly created: boolean;
}

/**
 * Reads the index, starting a new one when there is none. A corrupt index is set aside and
 * replaced with a fresh UIDVALIDITY: clients then download everything again, which beats
 * handing out a UIDL that belonged to another message.
 */
export async function loadUidIndex(dir: string, name: string, logger: Logger): Promise<LoadedIndex> {
  const path = join(dir, name);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { index: freshIndex(0), created: true };
    throw err;
  }
  try {
    return { index: parseUidIndex(text), created: false };
  } catch (err) {
    if (!(err instanceof IndexFormatError)) throw err;
    // The broken index was created no later than it was last written, so a validity past
    // its mtime (and past whatever its header still shows) cannot repeat the old one.
    const writtenSecs = Math.floor((await stat(path)).mtimeMs / 1000);
    const aside = `${path}.broken-${Date.now()}`;
    await rename(path, aside);
    logger.warn({ index: path, movedTo: aside, reason: err.message }, 'corrupt UID index set aside; rebuilding with a new UIDVALIDITY');
    return { index: freshIndex(Math.max(salvageUidValidity(text), writtenSecs)), created: true };
  }
}

/** UIDVALIDITY is the creation time, but must exceed a broken predecessor's. */
function freshIndex(previousValidity: number): UidIndex {
  const now = Math.floor(Date.now() / 1000);
  const uidValidity = Math.min(Math.max(now, previousValidity + 1), MAX_UID);
  return { uidValidity, nextUid: 1, entries: [] };
}

function salvageUidValidity(text: string): number {
  const match = /^postel-uidlist \d+ (\d{1,10}) /.exec(text);
  const value = match?.[1] === undefined ? 0 : Number(match[1]);
  return value < MAX_UID ? value : 0;
}

export async function saveUidIndex(dir: string, name: string, index: UidIndex): Promise<void> {
  await writeFileAtomic(dir, name, formatUidIndex(index));
}
