import { rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log/logger.js';
import { replaceFileAtomic } from '../../fs/durable.js';
import { readFileIfExists } from '../../fs/read-if-exists.js';

/**
 * `postel-uidlist`: the UID, wire size and retrieval time of every message, so an open
 * needs neither a stat nor a read per message. Format, one record per line:
 *   postel-uidlist 1 <uidvalidity> <nextuid>
 *   <uid> <wireSize> <retrievedAtEpochSeconds or 0> <basename>
 * Version 2 adds a field before the base name: `-`, or `P<uidl>` for a message that keeps
 * the UIDL another server showed (see inherited-uidls.ts). Version 3, the one written now,
 * adds another after it: `=` when the message goes to every client as stored, else the
 * wire size of the ASCII form a client without UTF8 gets (src/message/downgrade.ts).
 *   postel-uidlist 3 <uidvalidity> <nextuid>
 *   <uid> <wireSize> <retrievedAt> <-|P<uidl>> <=|asciiSize> <basename>
 * Entries read from versions 1 and 2 do not know their ASCII size yet (asciiSize undefined).
 */
const MAGIC = 'postel-uidlist';
const VERSION = '1';
const VERSION_WITH_UIDLS = '2';
const VERSION_WITH_ASCII = '3';
const MAX_UID = 0xffffffff;

export interface IndexEntry {
  readonly uid: number;
  readonly size: number;
  /** Epoch seconds of the first full retrieval (or of finding the Seen flag); 0 if never. */
  retrievedAt: number;
  readonly basename: string;
  /** The UIDL shown instead of postel's own (inherited from Dovecot or Courier). */
  uidl?: string;
  /**
   * The wire size sent to a client that did not say UTF8 (RFC 6856), when its header holds
   * raw UTF-8 and is downgraded; null when the message goes as stored; undefined: not known.
   */
  asciiSize?: number | null;
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
  const lines = [`${MAGIC} ${VERSION_WITH_ASCII} ${index.uidValidity} ${index.nextUid}`];
  for (const e of index.entries) {
    if (e.asciiSize === undefined) throw new RangeError(`message ${e.uid} has no ASCII size to record`);
    lines.push(`${e.uid} ${e.size} ${e.retrievedAt} ${e.uidl === undefined ? '-' : `P${e.uidl}`} ${e.asciiSize === null ? '=' : e.asciiSize} ${e.basename}`);
  }
  return lines.join('\n') + '\n';
}

export function parseUidIndex(text: string): UidIndex {
  const headerEnd = text.indexOf('\n');
  const header = text.slice(0, headerEnd < 0 ? text.length : headerEnd).split(' ');
  if (header.length !== 4 || header[0] !== MAGIC || (header[1] !== VERSION && header[1] !== VERSION_WITH_UIDLS && header[1] !== VERSION_WITH_ASCII)) {
    throw new IndexFormatError('bad header');
  }
  const withUidls = header[1] !== VERSION;
  const withAscii = header[1] === VERSION_WITH_ASCII;
  const uidls = new Set<string>();
  const uidValidity = parseCount(header[2], 'uidvalidity');
  const nextUid = parseCount(header[3], 'nextuid');
  if (uidValidity === 0 || uidValidity > MAX_UID || nextUid === 0) throw new IndexFormatError('bad header values');
  const entries: IndexEntry[] = [];
  const seenBasenames = new Set<string>();
  let lastUid = 0;
  // Read in place with indexOf and char codes: an index of 100,000 lines is parsed at every
  // uncached login, and splitting it into lines and fields first costs several times more.
  let line = 1;
  for (let pos = headerEnd < 0 ? text.length : headerEnd + 1; pos < text.length; line++) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const s1 = text.indexOf(' ', pos);
    const s2 = s1 < 0 ? -1 : text.indexOf(' ', s1 + 1);
    const s3 = s2 < 0 ? -1 : text.indexOf(' ', s2 + 1);
    if (s1 < 0 || s2 < 0 || s3 < 0 || s3 >= end) throw new IndexFormatError(`line ${line + 1}: too few fields`);
    const uid = countAt(text, pos, s1, `line ${line + 1} uid`);
    const size = countAt(text, s1 + 1, s2, `line ${line + 1} size`);
    const retrievedAt = countAt(text, s2 + 1, s3, `line ${line + 1} retrieval time`);
    let uidl: string | undefined;
    let nameFrom = s3 + 1;
    if (withUidls) {
      const s4 = text.indexOf(' ', s3 + 1);
      if (s4 < 0 || s4 >= end) throw new IndexFormatError(`line ${line + 1}: too few fields`);
      const field = text.slice(s3 + 1, s4);
      if (field !== '-') {
        uidl = field.slice(1);
        // A UIDL shown twice would make clients skip or re-fetch the wrong message.
        if (field[0] !== 'P' || !/^[\x21-\x7e]{1,70}$/.test(uidl) || uidls.has(uidl)) {
          throw new IndexFormatError(`line ${line + 1}: bad or duplicate UIDL`);
        }
        uidls.add(uidl);
      }
      nameFrom = s4 + 1;
    }
    let asciiSize: number | null | undefined;
    if (withAscii) {
      const s5 = text.indexOf(' ', nameFrom);
      if (s5 < 0 || s5 >= end) throw new IndexFormatError(`line ${line + 1}: too few fields`);
      asciiSize = text[nameFrom] === '=' && s5 === nameFrom + 1 ? null : countAt(text, nameFrom, s5, `line ${line + 1} ASCII size`);
      nameFrom = s5 + 1;
    }
    const basename = text.slice(nameFrom, end);
    // Ascending, below nextuid and unique: otherwise a UIDL could be handed out twice.
    if (uid <= lastUid || uid >= nextUid) throw new IndexFormatError(`line ${line + 1}: uid out of order`);
    if (basename === '' || basename.includes(':') || seenBasenames.has(basename)) {
      throw new IndexFormatError(`line ${line + 1}: bad or duplicate file name`);
    }
    seenBasenames.add(basename);
    lastUid = uid;
    const entry: IndexEntry = asciiSize === undefined ? { uid, size, retrievedAt, basename } : { uid, size, retrievedAt, basename, asciiSize };
    entries.push(uidl === undefined ? entry : { ...entry, uidl });
    pos = end + 1;
  }
  return { uidValidity, nextUid, entries };
}

/** The decimal number in text[from, to): 1 to 15 digits, as parseCount accepts. */
function countAt(text: string, from: number, to: number, what: string): number {
  if (to <= from || to - from > 15) throw new IndexFormatError(`bad ${what}`);
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) throw new IndexFormatError(`bad ${what}`);
    value = value * 10 + digit;
  }
  return value;
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
  const text = await readFileIfExists(path, 'utf8');
  if (text === null) return { index: freshIndex(0), created: true };
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
  await replaceFileAtomic(join(dir, name), formatUidIndex(index));
}
