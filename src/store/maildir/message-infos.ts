import type { MessageInfo } from '../types.js';
import type { Snapshot } from './snapshot.js';
import { formatUidl } from './uid-index.js';

const infosOf = new WeakMap<Snapshot, readonly MessageInfo[]>();

/** The messages as a session sees them, made once per snapshot (UIDL strings included). */
export function messageInfos(snapshot: Snapshot): readonly MessageInfo[] {
  let infos = infosOf.get(snapshot);
  if (infos === undefined) {
    const validity = snapshot.uidValidity;
    infos = Object.freeze(snapshot.messages.map((e) => messageInfo(e.uidl ?? formatUidl(validity, e.uid), e.size, e.asciiSize)));
    infosOf.set(snapshot, infos);
  }
  return infos;
}

/** One frozen MessageInfo; `asciiSize` null or undefined: the message goes as stored. */
export function messageInfo(uid: string, size: number, asciiSize: number | null | undefined): MessageInfo {
  return Object.freeze(typeof asciiSize === 'number' ? { uid, size, asciiSize } : { uid, size });
}

/** For a snapshot whose infos were made along with it (snapshot-file.ts decodes both at once). */
export function rememberInfos(snapshot: Snapshot, infos: readonly MessageInfo[]): void {
  infosOf.set(snapshot, Object.freeze(infos));
}
