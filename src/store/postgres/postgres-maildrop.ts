import type { Readable } from 'node:stream';
import type { Sql } from 'postgres';
import type { Logger } from '../../log/logger.js';
import { asciiStoredBytes } from '../../message/ascii-form.js';
import { MultilineFramer, type WireSource } from '../../message/wire-source.js';
import { MessageGoneError, StoreError, toStoreError } from '../errors.js';
import type { CommitChanges, Maildrop, MaildropView, MessageInfo, ViewMessage, WireOptions } from '../types.js';
import { CHUNK_SIZE, ChunkReader, copyStream, openCopy, type OpenedCopy } from './blobs.js';
import type { Lease } from './lease.js';
import type { Listing } from './listing.js';
import { newUidlPrefix } from './uidl.js';

export interface PostgresMaildropContext {
  readonly sql: Sql;
  readonly user: string;
  readonly lease: Lease;
  /** Shared with other sessions through the ListingCache: never changed. */
  readonly listing: Listing;
  readonly lastLoginAt: Date | null;
  readonly clock: () => Date;
  readonly logger: Logger;
}

/**
 * Octets of messages read ahead that all sessions of the process may hold at once. A
 * session holds at most one message of at most one chunk; past the budget, RETRs are read
 * when asked for, as without read-ahead.
 */
const READ_AHEAD_BUDGET = 16 * 1024 * 1024;
let readAheadHeld = 0;

interface ReadAhead {
  readonly index: number;
  readonly size: number;
  readonly copy: Promise<OpenedCopy | undefined>;
}

/** One POP3 session over a maildrop in PostgreSQL, holding its lease. */
export class PostgresMaildrop implements Maildrop {
  readonly user: string;
  readonly messages: readonly MessageInfo[];
  readonly lastLoginAt: Date | null;
  private closed = false;
  /** The message after the last one opened for RETR/TOP, being read while that one is sent. */
  private ahead: ReadAhead | undefined;

  constructor(private readonly context: PostgresMaildropContext) {
    this.user = context.user;
    this.messages = context.listing.messages;
    this.lastLoginAt = context.lastLoginAt;
  }

  async recordLogin(at: Date): Promise<void> {
    this.assertOpen();
    try {
      await this.context.sql`
        INSERT INTO maildrops (user_name, uidl_prefix, last_login) VALUES (${this.user}, ${newUidlPrefix()}, ${at})
        ON CONFLICT (user_name) DO UPDATE SET last_login = EXCLUDED.last_login`;
    } catch (err) {
      throw toStoreError(err, `recording login of ${this.user} failed`);
    }
  }

  async openMessage(index: number): Promise<Readable> {
    this.assertOpen();
    return copyStream(this.context.sql, await openStoredCopy(this.context.sql, this.user, this.keyAt(index), index));
  }

  async openWire(index: number, options: WireOptions = {}): Promise<WireSource> {
    this.assertOpen();
    const { sql } = this.context;
    const copy = await this.copyForWire(index);
    const framer = new MultilineFramer(options.bodyLines);
    const message = this.messages[index] as MessageInfo;
    // RFC 6856: a client that did not send UTF8 gets the form whose size LIST showed it.
    const downgrade = options.ascii === true && message.asciiSize !== undefined;
    // A body of one chunk came with the row: framed at once, no stream.
    if (copy.chunkCount <= 1 && !downgrade) {
      const first = copy.first ?? Buffer.alloc(0);
      return framer.frameWhole(copy.trace.length === 0 ? first : Buffer.concat([copy.trace, first]));
    }
    // Chunks come from the driver as fresh buffers, so the framer may keep them.
    const rest = copy.chunkCount > 1 ? new ChunkReader(sql, copy.blob, copy.chunkCount, 1) : null;
    let closed = false;
    async function* chunks(): AsyncGenerator<Buffer> {
      if (copy.trace.length > 0) yield copy.trace;
      if (copy.first !== null) yield copy.first;
      if (rest === null) return;
      for (let chunk = await rest.next(); chunk !== null && !closed; chunk = await rest.next()) yield chunk;
    }
    const stored = { chunks: chunks(), close: () => void (closed = true) };
    return framer.frame(downgrade ? asciiStoredBytes(stored, message.size) : stored);
  }

  /**
   * The copy of message `index`, read ahead when the previous RETR/TOP was of the message
   * before it; then starts reading the next one. Clients that download a maildrop ask for
   * the messages in order, so each RETR's query runs while the one before is on the wire.
   * A message's row and bytes never change while it exists, and no other session may
   * delete it while this one holds the lease, so a copy read a moment early is the same.
   */
  private async copyForWire(index: number): Promise<OpenedCopy> {
    const key = this.keyAt(index);
    const ahead = this.dropReadAhead();
    let copy: OpenedCopy | undefined;
    if (ahead?.index === index) copy = await ahead.copy.catch(() => undefined);
    // Not read ahead, or the read failed or found nothing: asked again, answered as asked.
    copy ??= await openStoredCopy(this.context.sql, this.user, key, index);
    this.readAhead(index + 1);
    return copy;
  }

  private readAhead(index: number): void {
    const message = this.messages[index];
    const key = this.context.listing.keys[index];
    // One chunk at most: the wire size is never below the stored size.
    if (message === undefined || key === undefined || message.size > CHUNK_SIZE || readAheadHeld + message.size > READ_AHEAD_BUDGET) return;
    readAheadHeld += message.size;
    const copy = openCopy(this.context.sql, this.user, key);
    copy.catch(() => undefined);
    this.ahead = { index, size: message.size, copy };
  }

  private dropReadAhead(): ReadAhead | undefined {
    const ahead = this.ahead;
    if (ahead !== undefined) {
      readAheadHeld -= ahead.size;
      this.ahead = undefined;
    }
    return ahead;
  }

  async commit(changes: CommitChanges): Promise<void> {
    this.assertOpen();
    this.dropReadAhead();
    for (const i of changes.deleted) this.keyAt(i);
    for (const i of changes.retrieved) this.keyAt(i);
    this.closed = true;
    const { sql, lease, logger } = this.context;
    const deleted = [...changes.deleted].map((i) => this.keyAt(i));
    const retrieved = [...changes.retrieved].filter((i) => !changes.deleted.has(i)).map((i) => this.keyAt(i));
    try {
      const ended = await sql.begin(async (tx) => {
        // The fence: with the lease row locked and our token in it, no other session can
        // have taken the maildrop over; without it nothing is changed.
        if (!(await lease.holdsIn(tx))) {
          if (deleted.length === 0 && retrieved.length === 0) return false;
          throw new StoreError(`maildrop lease of ${this.user} was lost; changes not applied`, true);
        }
        if (deleted.length > 0) {
          // The version moves with the deletion, in the same statement (see ListingCache).
          await tx`
            WITH gone AS (DELETE FROM messages WHERE user_name = ${this.user} AND uid = ANY(${deleted}::bigint[]) RETURNING stored_size)
            UPDATE maildrops SET usage = usage - (SELECT coalesce(sum(stored_size), 0) FROM gone), version = version + 1
            WHERE user_name = ${this.user}`;
        }
        if (retrieved.length > 0) {
          // The first retrieval starts the EXPIRE clock; fetching again does not restart it.
          await tx`UPDATE messages SET seen = true, retrieved_at = coalesce(retrieved_at, ${this.context.clock()})
                   WHERE user_name = ${this.user} AND uid = ANY(${retrieved}::bigint[])`;
        }
        await lease.endIn(tx);
        return true;
      });
      if (!ended) await lease.release();
    } catch (err) {
      logger.warn({ err, user: this.user }, 'maildrop commit not applied');
      await lease.release();
      throw toStoreError(err, `commit of ${this.user} failed`);
    }
  }

  async release(): Promise<void> {
    this.dropReadAhead();
    if (this.closed) return;
    this.closed = true;
    await this.context.lease.release();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError(`maildrop of ${this.user} is already closed`, false);
  }

  private keyAt(index: number): string {
    const key = Number.isInteger(index) ? this.context.listing.keys[index] : undefined;
    if (key === undefined) throw new RangeError(`no message ${index + 1} in the maildrop of ${this.user}`);
    return key;
  }
}

/** A message's copy by its row key, its first chunk read; MessageGoneError when the row is gone. */
async function openStoredCopy(sql: Sql, user: string, key: string, index: number): Promise<OpenedCopy> {
  let copy: OpenedCopy | undefined;
  try {
    copy = await openCopy(sql, user, key);
  } catch (err) {
    throw toStoreError(err, `opening message ${index + 1} failed`);
  }
  if (copy === undefined) throw new MessageGoneError(index);
  return copy;
}

/** MailStore.view over PostgreSQL: rows read once, bodies read on demand, no lease. */
export class PostgresView implements MaildropView {
  constructor(
    private readonly sql: Sql,
    readonly user: string,
    readonly messages: readonly (ViewMessage & { readonly key: string })[],
  ) {}

  indexOf(id: string): number {
    return this.messages.findIndex((m) => m.id === id);
  }

  async openMessage(index: number): Promise<Readable> {
    const entry = Number.isInteger(index) ? this.messages[index] : undefined;
    if (entry === undefined) throw new RangeError(`no message ${index + 1} in the view of ${this.user}`);
    return copyStream(this.sql, await openStoredCopy(this.sql, this.user, entry.key, index));
  }
}
