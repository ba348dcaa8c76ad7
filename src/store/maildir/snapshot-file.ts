import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { replaceFileAtomic } from '../../fs/durable.js';
import { readFileIfExists } from '../../fs/read-if-exists.js';
import type { MessageInfo } from '../types.js';
import type { MaildirLayout } from './layout.js';
import { messageInfo, rememberInfos } from './message-infos.js';
import type { MessageEntry, Snapshot } from './snapshot.js';
import { formatUidl } from './uid-index.js';

/*
 * A maildrop's whole snapshot, persisted beside its index, so that a process that has not
 * seen the maildrop (another POP3 worker: the kernel hands connections to any of them) opens
 * an unchanged one without listing new/ and cur/ and without parsing the text index. For
 * 100,000 messages that listing, or parsing the index, is most of an uncached open. The file
 * is reused under the SnapshotCache's rule and no other: it names the identity of the index
 * file and of both directories when it was written, and counts only while all three are
 * exactly that; so what it holds is what the index holds, and it can stand in for it.
 *
 * Binary, so that reading it is a few copies, not a parse: numbers sit in columns that are
 * viewed in place, and each kind of string is one block split at its line breaks (file names
 * cannot hold one: listMessageFiles skips such files).
 *
 *   "postel-snapshot 2\n"
 *   u32 LE: length of the JSON header; the header: { identity, count, uidValidity, nextUid };
 *   zero bytes to a multiple of 8
 *   float64 LE x count: wire size; x count: ASCII size (-1: goes as stored; NaN: not known);
 *   x count: retrieval time
 *   uint32 LE x count: UID
 *   uint8 x count: flags (1: the file is in cur/; 2: the UIDL is inherited, not postel's own)
 *   zero bytes to a multiple of 4
 *   u32 LE + UTF-8: the file names (in new/ or cur/), joined by "\n"
 *   u32 LE + ASCII: the UIDLs shown, joined by "\n"
 */
export const SNAPSHOT_FILE = 'postel-snapshot';
const MAGIC = Buffer.from('postel-snapshot 2\n', 'latin1');
const IN_CUR = 1;
const INHERITED_UIDL = 2;

interface Header {
  readonly identity: string;
  readonly count: number;
  readonly uidValidity: number;
  readonly nextUid: number;
}

/** Messages decoded between two turns of the event loop. */
const YIELD_EVERY = 10_000;

const align = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Byte offsets of the columns after a header of `headerBytes`, for `count` messages. */
function layoutOf(headerBytes: number, count: number): { size: number; ascii: number; retrieved: number; uid: number; flags: number; strings: number } {
  const size = align(MAGIC.length + 4 + headerBytes, 8);
  const ascii = size + 8 * count;
  const retrieved = ascii + 8 * count;
  const uid = retrieved + 8 * count;
  const flags = uid + 4 * count;
  return { size, ascii, retrieved, uid, flags, strings: align(flags + count, 4) };
}

/** Writes the snapshot, valid while the maildrop has `identity`. */
export async function saveSnapshotFile(layout: MaildirLayout, identity: string, snapshot: Snapshot): Promise<void> {
  const messages = snapshot.messages;
  const count = messages.length;
  const header = Buffer.from(JSON.stringify({ identity, count, uidValidity: snapshot.uidValidity, nextUid: snapshot.nextUid } satisfies Header), 'utf8');
  const names = Buffer.from(messages.map((m) => m.fileName).join('\n'), 'utf8');
  const uidls = Buffer.from(messages.map((m) => m.uidl ?? formatUidl(snapshot.uidValidity, m.uid)).join('\n'), 'latin1');
  const at = layoutOf(header.length, count);
  // Buffer.alloc gives a zeroed buffer of its own, at offset 0: the typed views line up.
  const out = Buffer.alloc(at.strings + 4 + names.length + 4 + uidls.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(header.length, MAGIC.length);
  header.copy(out, MAGIC.length + 4);
  const size = new Float64Array(out.buffer, out.byteOffset + at.size, count);
  const ascii = new Float64Array(out.buffer, out.byteOffset + at.ascii, count);
  const retrieved = new Float64Array(out.buffer, out.byteOffset + at.retrieved, count);
  const uid = new Uint32Array(out.buffer, out.byteOffset + at.uid, count);
  for (let i = 0; i < count; i++) {
    const m = messages[i] as MessageEntry;
    size[i] = m.size;
    ascii[i] = m.asciiSize === null ? -1 : m.asciiSize === undefined ? NaN : m.asciiSize;
    retrieved[i] = m.retrievedAt;
    uid[i] = m.uid;
    out[at.flags + i] = (m.dir === 'cur' ? IN_CUR : 0) | (m.uidl !== undefined ? INHERITED_UIDL : 0);
  }
  out.writeUInt32LE(names.length, at.strings);
  names.copy(out, at.strings + 4);
  out.writeUInt32LE(uidls.length, at.strings + 4 + names.length);
  uidls.copy(out, at.strings + 8 + names.length);
  await replaceFileAtomic(join(layout.dir, SNAPSHOT_FILE), out);
}

/**
 * The snapshot, when the file was written for exactly this `identity` and is whole; null
 * otherwise (the caller lists the maildrop). The session's MessageInfos are made with it.
 */
export async function loadSnapshotFile(layout: MaildirLayout, identity: string): Promise<Snapshot | null> {
  const file = await readFileIfExists(join(layout.dir, SNAPSHOT_FILE));
  if (file === null) return null;
  if (file.length < MAGIC.length + 4 || !file.subarray(0, MAGIC.length).equals(MAGIC)) return null;
  const headerBytes = file.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + headerBytes > file.length) return null;
  let header: Header;
  try {
    header = JSON.parse(file.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + headerBytes)) as Header;
  } catch {
    return null;
  }
  if (header.identity !== identity || !Number.isSafeInteger(header.count) || header.count < 0) return null;
  const count = header.count;
  const at = layoutOf(headerBytes, count);
  if (at.strings + 8 > file.length) return null;
  const namesBytes = file.readUInt32LE(at.strings);
  const uidlsAt = at.strings + 4 + namesBytes;
  if (uidlsAt + 4 > file.length || uidlsAt + 4 + file.readUInt32LE(uidlsAt) !== file.length) return null;
  // A typed view needs an aligned offset in its ArrayBuffer; a pooled Buffer may not give one.
  const bytes = file.byteOffset % 8 === 0 ? file : Buffer.from(file);
  const size = new Float64Array(bytes.buffer, bytes.byteOffset + at.size, count);
  const ascii = new Float64Array(bytes.buffer, bytes.byteOffset + at.ascii, count);
  const retrieved = new Float64Array(bytes.buffer, bytes.byteOffset + at.retrieved, count);
  const uid = new Uint32Array(bytes.buffer, bytes.byteOffset + at.uid, count);
  const names = count === 0 ? [] : bytes.toString('utf8', at.strings + 4, uidlsAt).split('\n');
  const uidls = count === 0 ? [] : bytes.toString('latin1', uidlsAt + 4).split('\n');
  if (names.length !== count || uidls.length !== count) return null;
  const messages: MessageEntry[] = new Array(count);
  const infos: MessageInfo[] = new Array(count);
  let lastUid = 0;
  for (let i = 0; i < count; i++) {
    // 100,000 messages take a few hundred milliseconds: other sessions of this process are
    // served in between.
    if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToEventLoop();
    const fileName = names[i] as string;
    const shown = uidls[i] as string;
    const flags = bytes[at.flags + i] as number;
    const u = uid[i] as number;
    if (u <= lastUid || fileName === '' || shown === '') return null;
    lastUid = u;
    const colon = fileName.indexOf(':');
    const a = ascii[i] as number;
    const asciiSize = a === -1 ? null : Number.isNaN(a) ? undefined : a;
    // Spelled out, as in takeSnapshot: V8 copies an object spread here many times slower.
    const message: MessageEntry = { uid: u, size: size[i] as number, retrievedAt: retrieved[i] as number, basename: colon < 0 ? fileName : fileName.slice(0, colon), dir: (flags & IN_CUR) !== 0 ? 'cur' : 'new', fileName };
    if ((flags & INHERITED_UIDL) !== 0) message.uidl = shown;
    if (asciiSize !== undefined) message.asciiSize = asciiSize;
    messages[i] = message;
    infos[i] = messageInfo(shown, message.size, asciiSize);
  }
  const snapshot: Snapshot = { uidValidity: header.uidValidity, nextUid: header.nextUid, messages, indexWritten: false };
  rememberInfos(snapshot, infos);
  return snapshot;
}
