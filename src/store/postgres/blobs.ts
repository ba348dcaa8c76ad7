import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Sql, TransactionSql } from 'postgres';
import { WireSizeCounter } from '../../message/wire-size.js';
import { StoreError, toStoreError } from '../errors.js';

/** Bodies are cut into pieces this large: one row each, read in order, one ahead (ChunkReader). */
export const CHUNK_SIZE = 256 * 1024;

/** A chunk or blob untouched for this long and unreferenced is garbage. */
export const GC_GRACE_SECONDS = 24 * 60 * 60;

export interface StoredBody {
  /** SHA-256 of the body. */
  readonly hash: Buffer;
  /** Octets of the body as received. */
  readonly size: number;
}

/** A body whose chunks but the last are written; the delivery's statement writes the rest. */
export interface BodyInFlight extends StoredBody {
  /** Every chunk's hash, in order (the last included). */
  readonly chunks: readonly Buffer[];
  /** The last chunk when it is not written yet (not full, or the only one); null when there is none. */
  readonly last: ChunkRow | null;
}

/** A row of the chunks table: exactly one of data and data_text is set. */
export interface ChunkRow {
  readonly hash: Buffer;
  readonly data: Buffer | null;
  readonly data_text: string | null;
}

/**
 * A chunk as it is stored. UTF-8 without NUL (most mail) goes in data_text, which the
 * database sends back as it is: bytea comes encoded (hex, or base64 as asked) and must be
 * decoded, twice the CPU on both sides. `asText` is false where the database does not keep
 * text as UTF-8 (its encoding is not UTF8): it would convert the octets.
 */
export function chunkRow(hash: Buffer, bytes: Buffer, asText: boolean): ChunkRow {
  return asText && isUtf8(bytes) && !bytes.includes(0) ? { hash, data: null, data_text: bytes.toString('utf8') } : { hash, data: bytes, data_text: null };
}

/** A body's start, read ahead before any transaction: most mail fits in one chunk. */
export interface BodyStart {
  /** What was read (copied from a stream, which may reuse the buffers it hands out). */
  readonly pieces: readonly Buffer[];
  /** The rest of the input; null when the body ended within one chunk. */
  readonly rest: AsyncIterator<unknown> | null;
}

const NOTHING_MORE: AsyncIterator<unknown> = { next: () => Promise.resolve({ done: true, value: undefined }) };

/**
 * Reads a body until it ends within one chunk or a whole chunk has come. A body that fits is stored with one statement and no transaction.
 */
export async function readBodyStart(input: Readable | Uint8Array): Promise<BodyStart> {
  if (input instanceof Uint8Array) {
    const bytes = Buffer.from(input.buffer, input.byteOffset, input.length);
    return { pieces: [bytes], rest: bytes.length <= CHUNK_SIZE ? null : NOTHING_MORE };
  }
  const source = (input as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const pieces: Buffer[] = [];
  let length = 0;
  // A full chunk is not held back waiting for the input's end: it goes to the transaction.
  while (length < CHUNK_SIZE) {
    const next = await source.next();
    if (next.done === true) return { pieces, rest: null };
    const piece = Buffer.from(toBuffer(next.value));
    pieces.push(piece);
    length += piece.length;
  }
  return { pieces, rest: source };
}

/** A body that fits in one chunk, as the delivery's statement writes it (nothing written yet). */
export function bodyInMemory(start: BodyStart, counter: WireSizeCounter, asText: boolean): BodyInFlight {
  const data = start.pieces.length === 1 ? (start.pieces[0] as Buffer) : Buffer.concat(start.pieces);
  if (data.length > CHUNK_SIZE || start.rest !== null) throw new RangeError('the body is more than one chunk');
  counter.push(data);
  const hash = createHash('sha256').update(data).digest();
  return data.length === 0 ? { hash, size: 0, chunks: [], last: null } : { hash, size: data.length, chunks: [hash], last: chunkRow(hash, data, asText) };
}

/**
 * Reads a body as it streams in, inside the delivery's transaction: each full chunk is
 * hashed and upserted at once, so memory holds one chunk whatever the message's size. The
 * last chunk when it is not full (for most mail the only one), the blob row (keyed by the
 * hash of the whole body: written once, a second copy only touches it) and its chunk list
 * are left to the statement that records the message (PostgresStore's delivery), which
 * saves round trips. `counter` sees every byte, for the wire size; `asText` as chunkRow's.
 */
export async function streamBody(tx: TransactionSql, start: BodyStart, counter: WireSizeCounter, asText: boolean): Promise<BodyInFlight> {
  const whole = createHash('sha256');
  const chunkHashes: Buffer[] = [];
  let size = 0;
  let pending: Buffer[] = [];
  let pendingLength = 0;
  const cut = (): ChunkRow => {
    const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingLength);
    pending = [];
    pendingLength = 0;
    const hash = createHash('sha256').update(data).digest();
    chunkHashes.push(hash);
    return chunkRow(hash, data, asText);
  };
  const take = async (bytes: Buffer, copied: boolean): Promise<void> => {
    let at = 0;
    while (at < bytes.length) {
      const piece = bytes.subarray(at, at + CHUNK_SIZE - pendingLength);
      at += piece.length;
      // Copied: a stream may reuse the buffer it handed us.
      pending.push(copied ? piece : Buffer.from(piece));
      pendingLength += piece.length;
      whole.update(piece);
      counter.push(piece);
      size += piece.length;
      if (pendingLength === CHUNK_SIZE) {
        // clock_timestamp(), not now(): the touch must be as late as possible (see collectGarbage).
        await tx`INSERT INTO chunks ${tx(cut(), 'hash', 'data', 'data_text')}
                 ON CONFLICT (hash) DO UPDATE SET touched_at = clock_timestamp()`;
      }
    }
  };
  for (const piece of start.pieces) await take(piece, true);
  const rest = start.rest;
  if (rest !== null) {
    let done = false;
    try {
      for (let next = await rest.next(); next.done !== true; next = await rest.next()) await take(toBuffer(next.value), false);
      done = true;
    } finally {
      // Stopped early (a failed write): the input is let go, as a for-await loop would.
      if (!done) await rest.return?.();
    }
  }
  return { hash: whole.digest(), size, chunks: chunkHashes, last: pendingLength > 0 ? cut() : null };
}

/**
 * Bodies of at most one chunk each, already in memory, written with one statement per table
 * (db import-maildir's batches): the same rows a delivery writes for each, since a body of one
 * chunk is that chunk. Returns each body's hash, in order. `asText` as chunkRow's.
 */
export async function writeSmallBodies(tx: TransactionSql, bodies: readonly Buffer[], asText: boolean): Promise<Buffer[]> {
  const hashes = bodies.map((body) => {
    if (body.length > CHUNK_SIZE) throw new RangeError(`a body of ${body.length} octets is more than one chunk`);
    return createHash('sha256').update(body).digest();
  });
  // One row per distinct body: an upsert may not touch the same row twice in one statement.
  const distinct = new Map<string, { hash: Buffer; body: Buffer }>();
  bodies.forEach((body, i) => distinct.set((hashes[i] as Buffer).toString('hex'), { hash: hashes[i] as Buffer, body }));
  const unique = [...distinct.values()];
  if (unique.length === 0) return hashes;
  const chunks = unique.filter((b) => b.body.length > 0).map((b) => chunkRow(b.hash, b.body, asText));
  if (chunks.length > 0) {
    await tx`INSERT INTO chunks ${tx(chunks, 'hash', 'data', 'data_text')} ON CONFLICT (hash) DO UPDATE SET touched_at = clock_timestamp()`;
  }
  const values = unique.map((b) => ({ hash: b.hash, size: b.body.length }));
  const blobs: readonly { hash: Buffer; inserted: boolean; size: string }[] = await tx`
    INSERT INTO blobs ${tx(values, 'hash', 'size')}
    ON CONFLICT (hash) DO UPDATE SET touched_at = clock_timestamp()
    RETURNING hash, (xmax = 0) AS inserted, size::text`;
  const links = blobs.filter((b) => b.inserted && b.size !== '0').map((b) => ({ blob: b.hash, seq: 0, chunk: b.hash }));
  if (links.length > 0) await tx`INSERT INTO blob_chunks ${tx(links, 'blob', 'seq', 'chunk')}`;
  return hashes;
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError('message stream must yield bytes or strings');
}

/** A message's copy opened for reading: what one query brings back. */
export interface OpenedCopy {
  /** The copy's own trace fields, sent in front of the body. */
  readonly trace: Buffer;
  /** The body's hash (blobs.hash). */
  readonly blob: Buffer;
  /** How many chunks the body has (0 for an empty body). */
  readonly chunkCount: number;
  /** The body's first chunk, read with the row: a body of one chunk needs no other query. */
  readonly first: Buffer | null;
}

/**
 * The message row with its body's chunk count and first chunk, in one round trip (a RETR
 * of a small message is this query and nothing else); undefined when the row is gone.
 */
export async function openCopy(sql: Sql, user: string, key: string): Promise<OpenedCopy | undefined> {
  return (await openCopies(sql, user, [key])).get(key);
}

/** openCopy of several messages (row keys) in one round trip; a row that is gone is absent. */
export async function openCopies(sql: Sql, user: string, keys: readonly string[]): Promise<Map<string, OpenedCopy>> {
  const rows = await sql`
    SELECT m.uid, encode(m.trace, 'base64'), encode(m.blob, 'base64'), (SELECT count(*) FROM blob_chunks x WHERE x.blob = m.blob), encode(c.data, 'base64'), c.data_text
    FROM messages m
    LEFT JOIN blob_chunks bc ON bc.blob = m.blob AND bc.seq = 0
    LEFT JOIN chunks c ON c.hash = bc.chunk
    WHERE m.user_name = ${user} AND m.uid = ANY(${keys}::bigint[])`.raw();
  const copies = new Map<string, OpenedCopy>();
  for (const [key, trace, blob, chunks, bytes, utf8] of rows as RawRow[]) {
    const chunkCount = Number(text(chunks));
    const first = chunkBytes(bytes, utf8);
    if (chunkCount > 0 && first === null) throw missingChunk(0);
    copies.set(text(key), { trace: fromBase64(trace), blob: fromBase64(blob), chunkCount, first });
  }
  return copies;
}

/** A row as `.raw()` gives it: each column's text form as the driver read it, or null. */
type RawRow = (Buffer | null)[];

function text(column: Buffer | null | undefined): string {
  if (column === null || column === undefined) throw new StoreError('a stored column is unexpectedly empty', false);
  return column.toString('latin1');
}

/*
 * postgres.js reads every result in text format, where bytea comes as hex: twice the octets,
 * encoded by the server and decoded here. Bytea is selected as encode(data, 'base64')
 * instead, a third more, and with `.raw()` so that the driver hands over the text's bytes
 * without decoding them into a string of its own first. A text column's bytes are its UTF-8
 * as it is: a chunk in data_text is used as the driver read it, without a copy. (A binary
 * COPY would send bytea as it is, but postgres.js 3.4's COPY streams can leave the
 * connection paused for good when a result arrives whole: porsager/postgres#917.)
 */
function fromBase64(column: Buffer | null | undefined): Buffer {
  return Buffer.from(text(column), 'base64');
}

/** A chunk's bytes from its two columns (base64 of data, and data_text); null when it is not there. */
function chunkBytes(base64: Buffer | null | undefined, utf8: Buffer | null | undefined): Buffer | null {
  if (utf8 !== null && utf8 !== undefined) return utf8;
  return base64 === null || base64 === undefined ? null : fromBase64(base64);
}

function missingChunk(seq: number): StoreError {
  return new StoreError(`chunk ${seq} of a stored body is missing`, false);
}

/**
 * Chunks one query of ChunkReader reads. Measured on a 1 GB RETR (bench large_message): one
 * chunk per query 31 MB/s, two 46 MB/s with 6-13 MB of extra memory, four 48 MB/s with 23 MB
 * (each query's text and its decoded chunks are garbage the GC collects late).
 */
export const CHUNKS_PER_QUERY = 2;

/**
 * Reads a body's chunks from `from` on, in order, one query ahead of its consumer: while
 * the chunks of one query are being framed and written, the next query's are on their way.
 * At most one query is in flight, so a 1 GB message holds at most 2 x CHUNKS_PER_QUERY
 * chunks however slowly it is read.
 */
export class ChunkReader {
  /** Read, not handed out yet. */
  private ready: Buffer[] = [];
  private ahead: Promise<Buffer[]> | undefined;
  /** The first chunk no query has asked for yet. */
  private unread: number;

  constructor(
    private readonly sql: Sql,
    private readonly blob: Buffer,
    private readonly count: number,
    from: number,
  ) {
    this.unread = from;
  }

  /** The next chunk, or null after the last; keeps the next query on its way. */
  async next(): Promise<Buffer | null> {
    if (this.ready.length === 0) {
      if (this.ahead === undefined && this.unread >= this.count) return null;
      this.ready = await (this.ahead ?? this.fetch());
      this.ahead = this.unread < this.count ? this.fetch() : undefined;
    }
    return this.ready.shift() ?? null;
  }

  private fetch(): Promise<Buffer[]> {
    const from = this.unread;
    const to = Math.min(from + CHUNKS_PER_QUERY, this.count);
    this.unread = to;
    const pending = (async () => {
      let rows: RawRow[];
      try {
        rows = await this.sql`
          SELECT bc.seq, encode(c.data, 'base64'), c.data_text FROM blob_chunks bc JOIN chunks c ON c.hash = bc.chunk
          WHERE bc.blob = ${this.blob} AND bc.seq >= ${from} AND bc.seq < ${to} ORDER BY bc.seq`.raw();
      } catch (err) {
        throw toStoreError(err, `reading chunks ${from}-${to - 1} of a stored body failed`);
      }
      return Array.from({ length: to - from }, (_, i) => {
        const row = rows[i];
        const bytes = row === undefined || Number(text(row[0])) !== from + i ? null : chunkBytes(row[1], row[2]);
        if (bytes === null) throw missingChunk(from + i);
        return bytes;
      });
    })();
    // Read ahead: nobody may be waiting when it fails (the reader was dropped); next() rethrows.
    pending.catch(() => undefined);
    return pending;
  }
}

/**
 * A copy's bytes as a stream: the trace, the first chunk, then the rest as the consumer
 * asks for more (Readable's backpressure), read one chunk ahead (ChunkReader).
 */
export function copyStream(sql: Sql, copy: OpenedCopy): Readable {
  const pieces = [copy.trace, copy.first].filter((b): b is Buffer => b !== null && b.length > 0);
  const rest = new ChunkReader(sql, copy.blob, copy.chunkCount, 1);
  return new Readable({
    highWaterMark: CHUNK_SIZE,
    read(): void {
      const piece = pieces.shift();
      if (piece !== undefined) {
        this.push(piece);
        return;
      }
      rest.next().then(
        (chunk) => this.push(chunk),
        (err: unknown) => this.destroy(err instanceof Error ? err : new Error(String(err))),
      );
    },
  });
}

/**
 * Removes bodies no message refers to, then chunks no body refers to. Safe against a
 * racing delivery: a delivery touches every chunk and blob it will reference (row lock and
 * touched_at) before it references them, the delete skips anything touched within the
 * grace period, re-checks a row it had to wait for, and the foreign keys refuse to delete
 * anything that is referenced after all. Returns the rows removed.
 */
export async function collectGarbage(sql: Sql, graceSeconds = GC_GRACE_SECONDS): Promise<{ blobs: number; chunks: number }> {
  const blobs = await sql`
    DELETE FROM blobs b
    WHERE b.touched_at < clock_timestamp() - make_interval(secs => ${graceSeconds})
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.hash)`;
  const chunks = await sql`
    DELETE FROM chunks c
    WHERE c.touched_at < clock_timestamp() - make_interval(secs => ${graceSeconds})
      AND NOT EXISTS (SELECT 1 FROM blob_chunks bc WHERE bc.chunk = c.hash)`;
  return { blobs: blobs.count, chunks: chunks.count };
}
