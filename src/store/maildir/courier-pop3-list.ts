/**
 * Courier's `courierpop3dsizelist` (courier-imap, imap/pop3dserver.c, LISTVERSION 2 and 3),
 * where Courier's POP3 server keeps what it showed:
 *
 *   /<version> <nextuid> <uidvalidity>
 *   <file name> <size> <uid>:<uidvalidity>[:<utf8 flag>]
 *
 * The file name may hold spaces (the fields are taken from the right). Courier shows the
 * UIDL `UID<uid>-<uidvalidity>` (`UID<uid>` when the validity is 0). Files of version 1
 * and older carry no UIDs (Courier then used the file name) and Courier itself ignores
 * them, so they are ignored here too. courierimapuiddb holds IMAP UIDs only and plays no
 * part in POP3 UIDLs.
 */
export const COURIER_POP3_LIST_NAME = 'courierpop3dsizelist';

export interface CourierRecord {
  readonly basename: string;
  readonly uidl: string;
  /** Courier's UID: the order Courier listed the messages in. */
  readonly uid: number;
}

export class CourierListError extends Error {
  override readonly name = 'CourierListError';
}

export function parseCourierPop3List(text: string): CourierRecord[] {
  const lines = text.split('\n');
  const header = /^\/(\d+) \d+(?: \d+)?$/.exec(lines[0] ?? '');
  if (header === null) throw new CourierListError('bad header');
  if (header[1] !== '2' && header[1] !== '3') throw new CourierListError(`unsupported version ${header[1]}`);
  const records: CourierRecord[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const m = /^(.+) (\d+) (\d+):(\d+)(?::\d+)?$/.exec(line);
    // Courier skips lines it cannot read; a message not found here simply keeps no old UIDL.
    if (m === null) continue;
    const name = m[1] as string;
    const uid = Number(m[3]);
    const validity = Number(m[4]);
    if (uid === 0) continue;
    const colon = name.indexOf(':');
    records.push({
      basename: colon < 0 ? name : name.slice(0, colon),
      uidl: validity === 0 ? `UID${uid}` : `UID${uid}-${validity}`,
      uid,
    });
  }
  return records;
}
