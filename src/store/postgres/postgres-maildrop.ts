import type { Readable } from 'node:stream';
import type { Sql } from 'postgres';
import type { Logger } from '../../log/logger.js';
import { asciiStoredBytes } from '../../message/ascii-form.js';
import { MultilineFramer, type WireSource } from '../../message/wire-source.js';
import { MessageGoneError, StoreError, toStoreError } from '../errors.js';
import type { CommitChanges, Maildrop, MaildropView, MessageInfo, ViewMessage, WireOptions } from '../types.js';
import { ChunkReader, copyStream, openCopies, openCopy, type OpenedCopy } from './blobs.js';
import type { Lease } from './lease.js';
import type { Listing } from './listing.js';
import { ReadAhead } from './read-ahead.js';
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

/** One POP3 session over a maildrop in PostgreSQL, holding its lease. */
export class PostgresMaildrop implements Maildrop {
  readonly user: string;
  readonly messages: readonly MessageInfo[];
  readonly lastLoginAt: Date | null;
  private closed = false;
  /** The messages after the last one opened for RETR/TOP, being read while that one is sent. */
  private readonly ahead: ReadAhead;

  constructor(private readonly context: PostgresMaildropContext) {
    this.user = context.user;
    this.messages = context.listing.messages;
    this.lastLoginAt = context.lastLoginAt;
    this.ahead = new ReadAhead(this.messages, context.listing.keys, (keys) => openCopies(context.sql, context.user, keys));
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

  /** The copy of message `index`: read ahead when the client goes in order (ReadAhead). */
  private async copyForWire(index: number): Promise<OpenedCopy> {
    const copy = await this.ahead.take(index);
    // Not read ahead, or the read failed or found nothing: asked again, answered as asked.
    return copy ?? openStoredCopy(this.context.sql, this.user, this.keyAt(index), index);
  }

  async commit(changes: CommitChanges): Promise<void> {
    this.assertOpen();
    this.ahead.drop();
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
    this.ahead.drop();
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
