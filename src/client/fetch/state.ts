import { open, readFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { RecoveryToken } from '../deliver/types.js';
import { fsyncDir, replaceFileAtomic } from '../../fs/durable.js';
import { errnoCode } from '../../fs/errno.js';
import { StateFileError } from './errors.js';

const FORMAT = 1;
/** A UIDL absent from the server listing this long is forgotten (it was deleted). */
const FORGET_AFTER_MS = 30 * 86_400_000;

/** What we know about one UIDL. Times are milliseconds since the epoch. */
export interface UidRecord {
  /** When a listing first showed it: the clock for "delete after N days". */
  readonly firstSeen: number;
  /** When it was delivered (undefined: never). */
  readonly delivered?: number;
  /** Delivered as headers only (over the size limit): its body is still on the server only. */
  readonly headersOnly?: boolean;
  /** Since when the server no longer lists it. */
  readonly missingSince?: number;
}

export interface PendingDelivery {
  readonly uid: string;
  readonly token: RecoveryToken;
}

type Line =
  | { readonly postel_fetch_state: number; readonly account: string }
  | { readonly u: string; readonly f: number; readonly d?: number; readonly h?: 1; readonly m?: number }
  | { readonly op: 'pending'; readonly u: string; readonly t: RecoveryToken; readonly at: number }
  | { readonly op: 'delivered'; readonly u: string; readonly at: number; readonly h?: 1 }
  | { readonly op: 'aborted'; readonly u: string };

/**
 * The per-account record of which UIDLs were delivered, kept so that a message is
 * delivered exactly once however the fetch ends.
 *
 * On disk: JSON lines. A snapshot (one line per UIDL) written atomically (temp file, fsync,
 * rename, fsync of the directory), followed by a journal of appended, fsynced events:
 * "pending" before a delivery starts (with the destination's recovery token), then
 * "delivered" or "aborted". Appending one short line per message keeps a 10,000-message
 * first fetch linear; the snapshot is rewritten at the start and end of each run. A torn
 * last line (killed mid-append) is ignored: it was never acknowledged.
 */
export class AccountState {
  private handle: FileHandle | undefined;

  private constructor(
    readonly path: string,
    readonly account: string,
    private readonly records: Map<string, UidRecord>,
    private readonly pendings: Map<string, RecoveryToken>,
  ) {}

  static async open(path: string, account: string): Promise<AccountState> {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') throw new StateFileError(`cannot read fetch state ${path}: ${(err as Error).message}`);
      return new AccountState(path, account, new Map(), new Map());
    }
    const { records, pendings } = parse(text, path);
    const state = new AccountState(path, account, records, pendings);
    // A torn last line must not be glued to the next append: rewrite the file first.
    if (text !== '' && !text.endsWith('\n')) await state.compact(new Date());
    return state;
  }

  /** Deliveries that were started but neither finished nor aborted (a crash). */
  get pending(): readonly PendingDelivery[] {
    return [...this.pendings].map(([uid, token]) => ({ uid, token }));
  }

  get size(): number {
    return this.records.size;
  }

  get(uid: string): UidRecord | undefined {
    return this.records.get(uid);
  }

  isDelivered(uid: string): boolean {
    return this.records.get(uid)?.delivered !== undefined;
  }

  /** Recorded before the destination is touched; `token` lets recovery check it later. */
  async markPending(uid: string, token: RecoveryToken, now: Date): Promise<void> {
    this.pendings.set(uid, token);
    await this.append({ op: 'pending', u: uid, t: token, at: now.getTime() });
  }

  /** Durable when resolved; only then may the message be deleted on the server. */
  async markDelivered(uid: string, now: Date, headersOnly = false): Promise<void> {
    const previous = this.records.get(uid);
    this.pendings.delete(uid);
    this.records.set(uid, { firstSeen: previous?.firstSeen ?? now.getTime(), delivered: now.getTime(), ...(headersOnly ? { headersOnly: true } : {}) });
    await this.append({ op: 'delivered', u: uid, at: now.getTime(), ...(headersOnly ? { h: 1 as const } : {}) });
  }

  /**
   * Records many UIDLs as delivered in one atomic rewrite: for importing what another
   * fetcher (fetchmail's .fetchids, getmail's oldmail) already downloaded.
   */
  async importDelivered(uids: Iterable<string>, now: Date): Promise<void> {
    const t = now.getTime();
    for (const uid of uids) this.records.set(uid, { firstSeen: this.records.get(uid)?.firstSeen ?? t, delivered: t });
    await this.compact(now);
  }

  async markAborted(uid: string): Promise<void> {
    this.pendings.delete(uid);
    await this.append({ op: 'aborted', u: uid });
  }

  /**
   * Rewrites the file as a snapshot. With `listed` (the UIDLs the server just listed),
   * new UIDLs get their first-seen time, and UIDLs the server no longer has are dropped
   * once they have been missing for 30 days (not at once: a server that shows an empty
   * mailbox for a while must not make us fetch everything again).
   */
  async compact(now: Date, listed?: ReadonlySet<string>): Promise<void> {
    if (listed !== undefined) {
      const t = now.getTime();
      for (const uid of listed) {
        const record = this.records.get(uid);
        if (record === undefined) this.records.set(uid, { firstSeen: t });
        else if (record.missingSince !== undefined) {
          const { missingSince: _gone, ...rest } = record;
          this.records.set(uid, rest);
        }
      }
      for (const [uid, record] of this.records) {
        if (listed.has(uid)) continue;
        if (record.missingSince === undefined) this.records.set(uid, { ...record, missingSince: t });
        else if (t - record.missingSince > FORGET_AFTER_MS) this.records.delete(uid);
      }
    }
    await this.closeHandle();
    const lines: string[] = [JSON.stringify({ postel_fetch_state: FORMAT, account: this.account })];
    for (const [uid, r] of this.records) {
      lines.push(JSON.stringify({ u: uid, f: r.firstSeen, ...(r.delivered !== undefined ? { d: r.delivered } : {}), ...(r.headersOnly ? { h: 1 } : {}), ...(r.missingSince !== undefined ? { m: r.missingSince } : {}) }));
    }
    // Unresolved deliveries stay pending until recovery settles them.
    for (const [uid, token] of this.pendings) lines.push(JSON.stringify({ op: 'pending', u: uid, t: token, at: now.getTime() }));
    await replaceFileAtomic(this.path, `${lines.join('\n')}\n`);
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  private async append(line: Line): Promise<void> {
    if (this.handle === undefined) {
      // Create with a header, so that a fresh file is self-describing.
      const fresh = await open(this.path, 'a', 0o600);
      if ((await fresh.stat()).size === 0) await fresh.write(`${JSON.stringify({ postel_fetch_state: FORMAT, account: this.account })}\n`);
      this.handle = fresh;
      await fsyncDir(dirname(this.path));
    }
    await this.handle.write(`${JSON.stringify(line)}\n`);
    await this.handle.datasync();
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

function parse(text: string, path: string): { records: Map<string, UidRecord>; pendings: Map<string, RecoveryToken> } {
  const records = new Map<string, UidRecord>();
  const pendings = new Map<string, RecoveryToken>();
  const lines = text.split('\n');
  // The part after the last newline is a torn append (or empty): never acknowledged.
  lines.pop();
  lines.forEach((raw, index) => {
    if (raw === '') return;
    let line: Line;
    try {
      line = JSON.parse(raw) as Line;
    } catch {
      throw new StateFileError(`fetch state ${path} is damaged at line ${index + 1}; move it aside to start over (messages still on the server would be fetched again)`);
    }
    if ('postel_fetch_state' in line) {
      if (line.postel_fetch_state !== FORMAT) throw new StateFileError(`fetch state ${path} has format ${line.postel_fetch_state}, this postel reads ${FORMAT}`);
      return;
    }
    if ('op' in line) {
      if (line.op === 'pending') pendings.set(line.u, line.t);
      else if (line.op === 'aborted') pendings.delete(line.u);
      else if (line.op === 'delivered') {
        pendings.delete(line.u);
        const previous = records.get(line.u);
        records.set(line.u, { firstSeen: previous?.firstSeen ?? line.at, delivered: line.at, ...(line.h ? { headersOnly: true } : {}) });
      }
      return;
    }
    if (typeof line.u !== 'string' || typeof line.f !== 'number') throw new StateFileError(`fetch state ${path}: bad record at line ${index + 1}`);
    records.set(line.u, {
      firstSeen: line.f,
      ...(line.d !== undefined ? { delivered: line.d } : {}),
      ...(line.h ? { headersOnly: true } : {}),
      ...(line.m !== undefined ? { missingSince: line.m } : {}),
    });
  });
  return { records, pendings };
}
