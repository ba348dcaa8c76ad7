import { randomBytes } from 'node:crypto';

/**
 * Dovecot's `dovecot-uidlist` (src/lib-storage/index/maildir/maildir-uidlist.c), the map of
 * a Maildir's files to IMAP UIDs that Dovecot keeps next to new/ and cur/:
 *
 *   version 3 (Dovecot 1.1 and later):
 *     3 V<uidvalidity> N<nextuid> G<mailbox guid> [<key><value> ...]
 *     <uid> [<key><value> ...] :<base name>
 *   version 1 (Dovecot 1.0, Courier's courierimapuiddb):
 *     1 <uidvalidity> <nextuid>
 *     <uid> <base name>
 *
 * Record keys are upper-case letters: P the POP3 UIDL Dovecot shows instead of its
 * pop3_uidl_format (an empty P means "the base name"), W and S the virtual and physical
 * sizes when the file name lacks them, G the message GUID, O the POP3 order.
 */
export const DOVECOT_UIDLIST_NAME = 'dovecot-uidlist';

export interface DovecotRecord {
  readonly uid: number;
  /** Extension fields by key letter. */
  readonly fields: ReadonlyMap<string, string>;
  readonly basename: string;
}

export interface DovecotUidlist {
  readonly uidValidity: number;
  readonly nextUid: number;
  /** The mailbox GUID of a version 3 header (32 hex digits), if it has one. */
  readonly guid?: string;
  /** In ascending UID order. */
  readonly records: readonly DovecotRecord[];
}

export class DovecotUidlistError extends Error {
  override readonly name = 'DovecotUidlistError';
}

const MAX_UID = 0xffffffff;

export function parseDovecotUidlist(text: string): DovecotUidlist {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const header = lines[0];
  if (header === undefined) throw new DovecotUidlistError('empty file');
  const version = /^(\d) /.exec(header)?.[1];
  let uidValidity: number;
  let nextUid: number;
  let guid: string | undefined;
  if (version === '1') {
    const m = /^1 (\d{1,10}) (\d{1,10})$/.exec(header);
    if (m === null) throw new DovecotUidlistError('bad version 1 header');
    uidValidity = Number(m[1]);
    nextUid = Number(m[2]);
  } else if (version === '3') {
    const fields = headerFields(header.slice(2));
    uidValidity = count(fields.get('V'), 'UIDVALIDITY');
    nextUid = count(fields.get('N'), 'next UID');
    const g = fields.get('G');
    if (g !== undefined && /^[0-9a-f]{32}$/.test(g)) guid = g;
  } else {
    throw new DovecotUidlistError(`unsupported version ${JSON.stringify(header.slice(0, 2))}`);
  }
  if (uidValidity === 0 || uidValidity > MAX_UID || nextUid === 0 || nextUid > MAX_UID) {
    throw new DovecotUidlistError('bad UIDVALIDITY or next UID');
  }
  const records: DovecotRecord[] = [];
  let lastUid = 0;
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n] as string;
    const m = /^(\d{1,10}) +(.*)$/.exec(line);
    if (m === null) throw new DovecotUidlistError(`line ${n + 1}: no UID`);
    const uid = Number(m[1]);
    // Ascending and below 2^32 - 1, as Dovecot insists; Dovecot lets version 3 records reach
    // past the header's next UID (records appended since the header was written).
    if (uid === 0 || uid <= lastUid || uid >= MAX_UID) throw new DovecotUidlistError(`line ${n + 1}: UID out of order`);
    lastUid = uid;
    let rest = m[2] as string;
    const fields = new Map<string, string>();
    if (version === '3') {
      while (rest !== '' && rest[0] !== ':') {
        const space = rest.indexOf(' ');
        const field = space < 0 ? rest : rest.slice(0, space);
        // Dovecot drops fields with other keys; so do we.
        if (/^[A-Z]/.test(field)) fields.set(field[0] as string, field.slice(1));
        rest = space < 0 ? '' : rest.slice(space + 1).replace(/^ +/, '');
      }
      if (rest[0] === ':') rest = rest.slice(1);
    }
    if (rest === '' || rest.includes('/')) throw new DovecotUidlistError(`line ${n + 1}: bad file name`);
    // A name with its flags part: the base name is what identifies the file.
    const colon = rest.indexOf(':');
    records.push({ uid, fields, basename: colon < 0 ? rest : rest.slice(0, colon) });
  }
  return guid === undefined ? { uidValidity, nextUid, records } : { uidValidity, nextUid, guid, records };
}

function headerFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const field of text.split(' ')) if (field !== '') fields.set(field[0] as string, field.slice(1));
  return fields;
}

function count(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d{1,10}$/.test(value)) throw new DovecotUidlistError(`bad ${what} in header`);
  return Number(value);
}

export interface ExportRecord {
  readonly uid: number;
  readonly uidl: string;
  readonly basename: string;
}

/**
 * A version 3 file Dovecot reads as its own: every record carries its UIDL in P, so Dovecot
 * shows exactly these UIDLs whatever its pop3_uidl_format. Records must be in ascending UID
 * order, below `nextUid`; UIDLs must not contain spaces (POP3 UIDLs never do).
 */
export function formatDovecotUidlist(uidValidity: number, nextUid: number, records: readonly ExportRecord[], guid = randomBytes(16).toString('hex')): string {
  let out = `3 V${uidValidity} N${nextUid} G${guid}\n`;
  let lastUid = 0;
  for (const r of records) {
    if (r.uid <= lastUid || r.uid >= nextUid) throw new RangeError(`UID ${r.uid} out of order`);
    if (!/^[\x21-\x7e]+$/.test(r.uidl)) throw new RangeError(`UIDL ${JSON.stringify(r.uidl)} cannot be written`);
    if (r.basename === '' || /[/:\n]/.test(r.basename)) throw new RangeError(`file name ${JSON.stringify(r.basename)} cannot be written`);
    lastUid = r.uid;
    out += `${r.uid} P${r.uidl} :${r.basename}\n`;
  }
  return out;
}
