import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import postgres, { type Sql, type TransactionSql } from 'postgres';
import { silentLogger, type Logger } from '../../log/logger.js';
import { HEAD_LIMIT } from '../../message/ascii-form.js';
import { wireSize, WireSizeCounter } from '../../message/wire-size.js';
import { MaildropLockedError, QuotaExceededError, StoreError, toStoreError } from '../errors.js';
import type { DeliveryMeta, DeliveryResult, MailStore, Maildrop, MaildropView, NewMailHandlers, OpenOptions } from '../types.js';
import { assertValidUserName } from '../maildir/user-name.js';
import { bodyInMemory, readBodyStart, streamBody, writeSmallBodies, type BodyInFlight, type BodyStart } from './blobs.js';
import { Lease } from './lease.js';
import { assertSchemaCurrent } from './migrations.js';
import { EMPTY_LISTING, ListingCache, readHead, readListing, type Listing, type MaildropHead } from './listing.js';
import { copyAsciiSize, sizeOlderRows } from './ascii-sizes.js';
import { PostgresMaildrop, PostgresView } from './postgres-maildrop.js';
import { formatNotice, NEW_MAIL_CHANNEL, watchNewMail } from './notifications.js';
import { newUidlPrefix } from './uidl.js';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database (libpq-style URL; sslmode etc. as query parameters). */
  readonly url: string;
  /** Connections in this process's pool. Default 10. */
  readonly maxConnections?: number;
  /** Seconds a maildrop lease lasts without renewal (a dead node's sessions end after it). Default 30. */
  readonly leaseSeconds?: number;
  /**
   * Messages whose listings (UIDL, size) are kept in memory over all maildrops, so that a
   * login to a maildrop that has not changed does not read its message rows again. Default
   * 200,000 (about 20 MB); 0 keeps none.
   */
  readonly listingCacheMessages?: number;
  /** Names this process in lease rows, for operators; defaults to host name and pid. */
  readonly nodeName?: string;
  readonly logger?: Logger;
}

export const DEFAULT_LEASE_SECONDS = 30;
const DEFAULT_LISTING_CACHE_MESSAGES = 200_000;

/** What an imported message keeps from its old store. */
export interface ImportedState {
  readonly uidl: string;
  readonly receivedAt: Date | null;
  readonly retrievedAt: Date | null;
  readonly seen: boolean;
}

/** A message of db import-maildir's batches: its bytes in memory, and what it keeps. */
export interface ImportedMessage {
  readonly body: Buffer;
  readonly kept: ImportedState;
}

/** Opens a connection pool; nothing is connected until the first query. */
export function connectPostgres(url: string, options: { max?: number; logger?: Logger } = {}): Sql {
  const logger = options.logger ?? silentLogger();
  return postgres(url, {
    max: options.max ?? 10,
    // Fail fast when the database is away: the caller answers "try again later".
    connect_timeout: 10,
    idle_timeout: 60,
    onnotice: () => undefined,
    connection: { application_name: 'postel' },
    debug: false,
    // A failed connection is retried by the next query; say so once per failure.
    onclose: () => logger.debug('database connection closed'),
  });
}

/**
 * Mail in PostgreSQL, shared by any number of postel nodes. Bodies are stored once per
 * content (chunks keyed by SHA-256) and each copy keeps its own trace fields; sizes and
 * UIDLs are written at delivery; the maildrop lock is a lease row (lease.ts). A delivery
 * resolves only after COMMIT.
 */
export class PostgresStore implements MailStore {
  readonly sql: Sql;
  private readonly leaseSeconds: number;
  private readonly nodeName: string;
  private readonly logger: Logger;
  private readonly listings: ListingCache;
  private checked: Promise<void> | undefined;
  /** Whether chunks may be kept as text (chunkRow): the database's encoding is UTF8. Known once ready. */
  private textChunks = false;
  /** Names this store object in its new-mail notices, so that it skips its own. */
  private readonly origin = randomBytes(9).toString('base64url');

  constructor(options: PostgresStoreOptions) {
    this.logger = options.logger ?? silentLogger();
    this.sql = connectPostgres(options.url, { ...(options.maxConnections ? { max: options.maxConnections } : {}), logger: this.logger });
    this.leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    if (!(this.leaseSeconds > 0)) throw new RangeError('leaseSeconds must be positive');
    this.nodeName = options.nodeName ?? `${hostname()}:${process.pid}`;
    this.listings = new ListingCache(options.listingCacheMessages ?? DEFAULT_LISTING_CACHE_MESSAGES);
  }

  /** The database answers a query now, at this postel's schema version. */
  async ping(): Promise<void> {
    try {
      await this.ready();
      await this.sql`SELECT 1`;
    } catch (err) {
      throw toStoreError(err, 'the database does not answer');
    }
  }

  /** Closes the pool (waits for running queries). */
  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  async deliver(user: string, message: Readable | Uint8Array, meta: DeliveryMeta = {}): Promise<DeliveryResult> {
    return this.store(user, message, meta);
  }

  /**
   * Copies one message from another store keeping its UIDL and seen state (db
   * import-maildir). Idempotent: a message whose UIDL the maildrop has is skipped (null).
   */
  async importMessage(user: string, message: () => Promise<Readable>, kept: ImportedState): Promise<DeliveryResult | null> {
    assertValidUserName(user);
    try {
      await this.ready();
      const [known] = await this.sql`SELECT 1 FROM messages WHERE user_name = ${user} AND uidl = ${kept.uidl}`;
      if (known) return null;
    } catch (err) {
      throw toStoreError(err, 'import failed');
    }
    return this.store(user, await message(), kept.receivedAt ? { receivedAt: kept.receivedAt } : {}, kept);
  }

  /**
   * Copies messages of one maildrop, each at most one chunk (CHUNK_SIZE), in one transaction
   * and in their order, keeping UIDLs and seen state as importMessage does: what db
   * import-maildir does with most mail, at one transaction per batch instead of per
   * message. Messages whose UIDL the maildrop has are skipped; returns how many were copied.
   */
  async importMessages(user: string, batch: readonly ImportedMessage[]): Promise<number> {
    assertValidUserName(user);
    try {
      await this.ready();
      const copied = await this.sql.begin(async (tx) => {
        await tx`INSERT INTO maildrops (user_name, uidl_prefix) VALUES (${user}, ${newUidlPrefix()}) ON CONFLICT (user_name) DO NOTHING`;
        const uidls = batch.map((m) => m.kept.uidl);
        const known = new Set((await tx<{ uidl: string }[]>`SELECT uidl FROM messages WHERE user_name = ${user} AND uidl = ANY(${uidls}::text[])`).map((r) => r.uidl));
        const fresh: ImportedMessage[] = [];
        for (const m of batch) {
          if (known.has(m.kept.uidl)) continue;
          known.add(m.kept.uidl);
          fresh.push(m);
        }
        if (fresh.length === 0) return 0;
        const hashes = await writeSmallBodies(tx, fresh.map((m) => m.body), this.textChunks);
        const stored = fresh.reduce((sum, m) => sum + m.body.length, 0);
        const [row] = await tx<{ first: string }[]>`
          UPDATE maildrops SET next_uid = next_uid + ${fresh.length}, usage = usage + ${stored}, version = version + 1
          WHERE user_name = ${user} RETURNING (next_uid - ${fresh.length})::text AS first`;
        if (row === undefined) throw new StoreError(`the maildrop row of ${user} is missing`, true);
        const first = BigInt(row.first);
        const now = new Date();
        const rows = fresh.map((m, i) => {
          const size = wireSize(m.body);
          return {
            user_name: user,
            uid: (first + BigInt(i)).toString(),
            uidl: m.kept.uidl,
            size,
            ascii_size: copyAsciiSize(Buffer.alloc(0), m.body, m.body.length, size),
            stored_size: m.body.length,
            trace: Buffer.alloc(0),
            blob: hashes[i] as Buffer,
            received_at: m.kept.receivedAt ?? now,
            retrieved_at: m.kept.retrievedAt,
            seen: m.kept.seen,
          };
        });
        await tx`INSERT INTO messages ${tx(rows, 'user_name', 'uid', 'uidl', 'size', 'ascii_size', 'stored_size', 'trace', 'blob', 'received_at', 'retrieved_at', 'seen')}`;
        const notices = rows.map((r) => formatNotice({ user, size: r.size, origin: this.origin }));
        await tx`SELECT pg_notify(${NEW_MAIL_CHANNEL}, n) FROM unnest(${notices}::text[]) AS n`;
        return fresh.length;
      });
      this.logger.debug({ user, copied }, 'imported');
      return copied;
    } catch (err) {
      this.logger.warn({ err, user }, 'import failed');
      throw toStoreError(err, 'import failed');
    }
  }

  private async store(user: string, message: Readable | Uint8Array, meta: DeliveryMeta, imported?: ImportedState): Promise<DeliveryResult> {
    assertValidUserName(user);
    // The input can fail before the transaction reads it; the read loop rethrows the error.
    const ignoreEarlyError = (): void => undefined;
    if (!(message instanceof Uint8Array)) message.on('error', ignoreEarlyError);
    try {
      await this.ready();
      const trace = meta.trace === undefined ? Buffer.alloc(0) : Buffer.from(meta.trace);
      const receivedAt = meta.receivedAt !== undefined && Number.isFinite(meta.receivedAt.getTime()) ? meta.receivedAt : new Date();
      const counter = new WireSizeCounter();
      counter.push(trace);
      const start = await readBodyStart(message);
      const record = async (sql: Sql | TransactionSql, body: BodyInFlight): Promise<DeliveryResult> => {
        const asciiSize = copyAsciiSize(trace, bodyHead(start), body.size, counter.size);
        const row = await this.recordMessage(sql, user, body, { trace, receivedAt, wireSize: counter.size, asciiSize, limit: meta.quotaLimit ?? null, ...(imported ? { imported } : {}) });
        if (row === undefined) throw new QuotaExceededError(user);
        return { id: row.uidl, size: counter.size };
      };
      // A body of one chunk (most mail) is one statement, atomic without a transaction;
      // a longer one streams its full chunks in the transaction that records it.
      const result =
        start.rest === null
          ? await record(this.sql, bodyInMemory(start, counter, this.textChunks))
          : await this.sql.begin((tx) => streamBody(tx, start, counter, this.textChunks).then((body) => record(tx, body)));
      this.logger.debug({ user, id: result.id, size: result.size }, 'delivered');
      return result;
    } catch (err) {
      if (!(err instanceof QuotaExceededError)) this.logger.warn({ err, user }, 'delivery failed');
      throw toStoreError(err, 'delivery failed');
    } finally {
      if (!(message instanceof Uint8Array)) message.off('error', ignoreEarlyError);
    }
  }

  /**
   * One statement (one round trip) recording a delivered copy: the body's last chunk, the blob
   * and its chunk list (clock_timestamp() touches: see collectGarbage), the maildrop row (new,
   * or UID, usage and version moved, with the quota check in its WHERE: concurrent
   * deliveries to one user take turns on that row, the check and the UID atomic with them),
   * the message row and the notice. Everything but the maildrop row is written from its
   * output, so over quota the statement changes nothing and returns no row.
   */
  private async recordMessage(
    sql: Sql | TransactionSql,
    user: string,
    body: BodyInFlight,
    copy: { trace: Buffer; receivedAt: Date; wireSize: number; asciiSize: number | null; limit: number | null; imported?: ImportedState },
  ): Promise<{ uid: string; uidl: string } | undefined> {
    const { trace, limit, imported } = copy;
    const storedSize = trace.length + body.size;
    const notice = formatNotice({ user, size: copy.wireSize, origin: this.origin });
    const [row] = await sql<{ uid: string; uidl: string }[]>`
      WITH maildrop AS (
        INSERT INTO maildrops AS d (user_name, uidl_prefix, next_uid, usage, version)
        SELECT ${user}, ${newUidlPrefix()}, 2, ${storedSize}, 1 WHERE ${limit}::bigint IS NULL OR ${storedSize} <= ${limit}::bigint
        ON CONFLICT (user_name) DO UPDATE SET next_uid = d.next_uid + 1, usage = d.usage + EXCLUDED.usage, version = d.version + 1
          WHERE ${limit}::bigint IS NULL OR d.usage + EXCLUDED.usage <= ${limit}::bigint
        RETURNING d.next_uid - 1 AS uid, d.uidl_prefix
      ), last_chunk AS (
        INSERT INTO chunks (hash, data, data_text)
        SELECT ${body.last?.hash ?? null}::bytea, ${body.last?.data ?? null}::bytea, ${body.last?.data_text ?? null}::text FROM maildrop WHERE ${body.last !== null}
        ON CONFLICT (hash) DO UPDATE SET touched_at = clock_timestamp()
      ), blob AS (
        INSERT INTO blobs (hash, size) SELECT ${body.hash}::bytea, ${body.size} FROM maildrop
        ON CONFLICT (hash) DO UPDATE SET touched_at = clock_timestamp()
        RETURNING (xmax = 0) AS inserted
      ), chunk_list AS (
        INSERT INTO blob_chunks (blob, seq, chunk)
        SELECT ${body.hash}, c.seq - 1, decode(c.hash, 'hex') FROM blob, unnest(${body.chunks.map((h) => h.toString('hex'))}::text[]) WITH ORDINALITY AS c(hash, seq)
        WHERE blob.inserted
      ), message AS (
        INSERT INTO messages (user_name, uid, uidl, size, ascii_size, stored_size, trace, blob, received_at, retrieved_at, seen)
        SELECT ${user}, maildrop.uid, coalesce(${imported?.uidl ?? null}::text, maildrop.uidl_prefix || '.' || maildrop.uid), ${copy.wireSize}, ${copy.asciiSize}::bigint, ${storedSize},
               ${trace}, ${body.hash}, ${copy.receivedAt}, ${imported?.retrievedAt ?? null}::timestamptz, ${imported?.seen ?? false}
        FROM maildrop
        RETURNING uid, uidl
      )
      SELECT uid::text, uidl, pg_notify(${NEW_MAIL_CHANNEL}, ${notice}) FROM message`;
    return row;
  }

  async lastLogin(user: string): Promise<Date | null> {
    assertValidUserName(user);
    try {
      await this.ready();
      const [row] = await this.sql<{ last_login: Date | null }[]>`SELECT last_login FROM maildrops WHERE user_name = ${user}`;
      return row?.last_login ?? null;
    } catch (err) {
      throw toStoreError(err, `reading the last login of ${user} failed`);
    }
  }

  async usage(user: string): Promise<number> {
    assertValidUserName(user);
    try {
      await this.ready();
      const [row] = await this.sql<{ usage: string }[]>`SELECT usage::text FROM maildrops WHERE user_name = ${user}`;
      return row === undefined ? 0 : Number(row.usage);
    } catch (err) {
      throw toStoreError(err, `reading the usage of ${user} failed`);
    }
  }

  async openMaildrop(user: string, options: OpenOptions = {}): Promise<Maildrop> {
    assertValidUserName(user);
    let lease: Lease | null;
    try {
      await this.ready();
      lease = await Lease.acquire(this.sql, user, this.nodeName, this.leaseSeconds, this.logger);
    } catch (err) {
      throw toStoreError(err, `opening the maildrop of ${user} failed`);
    }
    if (lease === null) throw new MaildropLockedError(user);
    try {
      const fixedNow = options.now;
      const clock = fixedNow === undefined ? () => new Date() : () => fixedNow;
      if (options.expireDays !== undefined) await this.expire(lease, clock(), options.expireDays);
      // Under the lease: the identity read here is the session's snapshot (see ListingCache).
      let head: MaildropHead | null = null;
      let listing: Listing | undefined;
      if (this.listings.has(user)) {
        head = await readHead(this.sql, user);
        listing = head === null ? EMPTY_LISTING : this.listings.get(user, head.identity);
      }
      if (listing === undefined) {
        // One index-only scan on the primary key: what STAT, LIST and UIDL need.
        let read = await readListing(this.sql, user);
        // Rows stored before ASCII sizes were kept get theirs now, once.
        if (read !== null && read.listing.unsized.length > 0 && (await sizeOlderRows(this.sql, user)) > 0) read = await readListing(this.sql, user);
        head = read;
        listing = read?.listing ?? EMPTY_LISTING;
        if (read !== null) this.listings.keep(user, read.identity, read.listing);
      }
      return new PostgresMaildrop({
        sql: this.sql,
        user,
        lease,
        listing,
        lastLoginAt: options.lastLogin === false ? null : (head?.lastLogin ?? null),
        clock,
        logger: this.logger,
      });
    } catch (err) {
      await lease.release();
      this.logger.warn({ err, user }, 'could not take maildrop snapshot');
      throw toStoreError(err, `opening the maildrop of ${user} failed`);
    }
  }

  /** Mail other nodes (and other store objects) deliver, through LISTEN/NOTIFY. */
  watchNewMail(handlers: NewMailHandlers): Promise<() => Promise<void>> {
    return watchNewMail(this.sql, handlers, this.logger, this.origin);
  }

  /** The message rows as they are, without the lease: the HTTP API's reads. */
  async view(user: string): Promise<MaildropView> {
    assertValidUserName(user);
    try {
      await this.ready();
      const rows = await this.sql<{ uid: string; uidl: string; size: string; seen: boolean }[]>`
        SELECT uid::text, uidl, size::text, seen FROM messages WHERE user_name = ${user} ORDER BY messages.uid`;
      return new PostgresView(this.sql, user, rows.map((r) => ({ id: r.uidl, size: Number(r.size), seen: r.seen, key: r.uid })));
    } catch (err) {
      throw toStoreError(err, `reading the maildrop of ${user} failed`);
    }
  }

  /** RFC 2449 EXPIRE under the session's lease. */
  private async expire(lease: Lease, now: Date, days: number): Promise<void> {
    await this.sql.begin(async (tx) => {
      if (!(await lease.holdsIn(tx))) throw new StoreError(`maildrop lease of ${lease.user} was lost`, true);
      const cutoff = new Date(now.getTime() - days * 86_400_000);
      // The version moves with the deletion, in the same statement (see ListingCache).
      await tx`
        WITH gone AS (
          DELETE FROM messages WHERE user_name = ${lease.user} AND retrieved_at IS NOT NULL AND retrieved_at <= ${cutoff}
          RETURNING stored_size)
        UPDATE maildrops SET usage = usage - (SELECT sum(stored_size) FROM gone), version = version + 1
        WHERE user_name = ${lease.user} AND EXISTS (SELECT 1 FROM gone)`;
    });
  }

  /**
   * Rejects unless the database is reachable and at this postel's schema version. Checked
   * once per store (again after a failure): a wrong schema is a configuration fault. Learns
   * the database's encoding on the way.
   */
  ready(): Promise<void> {
    this.checked ??= (async () => {
      await assertSchemaCurrent(this.sql);
      const [row] = await this.sql<{ server: string; client: string }[]>`SELECT current_setting('server_encoding') AS server, current_setting('client_encoding') AS client`;
      // Text (user names, and chunks kept as text) must cross the connection unconverted.
      if (row?.client !== 'UTF8') throw new StoreError(`the store's connections use client_encoding ${row?.client ?? '(unknown)'}; postel needs UTF8 (remove it from the store URL)`, false);
      this.textChunks = row.server === 'UTF8';
    })().catch((err: unknown) => {
      this.checked = undefined;
      throw err;
    });
    return this.checked;
  }
}

/** The body's first HEAD_LIMIT octets as read before the transaction (all of it for a short one). */
function bodyHead(start: BodyStart): Buffer {
  const first = start.pieces[0] ?? Buffer.alloc(0);
  return start.pieces.length === 1 || first.length >= HEAD_LIMIT ? first : Buffer.concat(start.pieces).subarray(0, HEAD_LIMIT);
}
