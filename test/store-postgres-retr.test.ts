import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { framedBytes } from '../src/store/contract.js';
import { MessageGoneError, StoreError } from '../src/store/errors.js';
import { CHUNK_SIZE, CHUNKS_PER_QUERY, ChunkReader } from '../src/store/postgres/blobs.js';
import { migrate } from '../src/store/postgres/migrations.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { Maildrop } from '../src/store/types.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';

const skip = postgresUnavailable();

/*
 * RETR and TOP on the PostgreSQL store: bodies of one chunk come with the message row, longer
 * ones are read one chunk ahead. The expected wire bytes are worked out here, line by line,
 * independently of the framer.
 */
describe('PostgreSQL RETR and TOP across chunk boundaries', { skip }, () => {
  let cluster: PostgresCluster;
  let store: PostgresStore;
  before(async () => {
    cluster = await startPostgres();
    store = new PostgresStore({ url: await cluster.createDatabase() });
    await migrate(store.sql);
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });

  const TRACE = 'Delivered-To: alice@example.org\n';
  const sizes = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE + 17];

  it('sends every byte of bodies of 0, 1, 256Ki-1, 256Ki, 256Ki+1 and 512Ki+17 octets, for RETR, TOP and openMessage', async () => {
    const bodies = sizes.map((size, i) => body(size, i));
    for (const b of bodies) await store.deliver('sizes', b, { trace: TRACE });
    const drop = await store.openMaildrop('sizes');
    try {
      for (const [i, b] of bodies.entries()) {
        const stored = Buffer.concat([Buffer.from(TRACE), b]);
        assert.ok((await readStream(drop, i)).equals(stored), `openMessage of ${sizes[i]} octets`);
        assert.ok((await readWire(drop, i)).equals(wireOf(stored)), `RETR of ${sizes[i]} octets`);
        for (const lines of [0, 3, 100_000]) {
          assert.ok((await readWire(drop, i, lines)).equals(wireOf(stored, lines)), `TOP ${lines} of ${sizes[i]} octets`);
        }
      }
    } finally {
      await drop.release();
    }
  });

  it('keeps UTF-8 chunks as text and any other bytes as bytea, and sends each back byte for byte', async () => {
    const ascii = body(2 * CHUNK_SIZE + 9, 3);
    // The chunk boundary falls inside a two-octet character: neither piece is UTF-8 on its own.
    const split = Buffer.concat([body(CHUNK_SIZE - 1, 4), Buffer.from('é and more\n')]);
    const cases: [string, Buffer, boolean[]][] = [
      ['ascii', ascii, [true, true, true]],
      ['utf8', Buffer.from('Subject: =?utf-8?q?x?=\n\nGrüße, ✓ 𝄞\n'), [true]],
      ['nul', Buffer.from('Subject: x\n\na\0b\n', 'latin1'), [false]],
      ['latin1', Buffer.from('Subject: x\n\ncaf\xe9\n', 'latin1'), [false]],
      ['split', split, [false, false]],
    ];
    await expectForms(store, 'forms', cases);
    // db import-maildir's batches write the same forms (of bodies of their own: a body stored
    // already keeps the form it has).
    const small = cases.filter(([, b]) => b.length <= CHUNK_SIZE).map(([name, b, forms]) => [name, Buffer.concat([Buffer.from('X-Imported: yes\n'), b]), forms] as const);
    await store.importMessages('imported', small.map(([name, b]) => ({ body: b, kept: { uidl: name, receivedAt: null, retrievedAt: null, seen: false } })));
    await expectForms(store, 'imported', small, false);
  });

  it('keeps every chunk as bytea in a database whose encoding is not UTF8, and refuses a connection that would convert text', async () => {
    const admin = postgres(cluster.url(), { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe("CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
    } finally {
      await admin.end();
    }
    const latin1 = new PostgresStore({ url: cluster.url('latin1') });
    try {
      await migrate(latin1.sql);
      await expectForms(latin1, 'alice', [
        ['ascii', body(1000, 5), [false]],
        ['utf8', Buffer.from('Subject: x\n\nGrüße\n'), [false]],
      ]);
    } finally {
      await latin1.close();
    }
    // A store URL that asks for another client encoding would have text converted on the way.
    const converting = new PostgresStore({ url: `${cluster.url('latin1')}?client_encoding=LATIN1` });
    try {
      await assert.rejects(converting.deliver('alice', Buffer.from('Subject: x\n\nx\n')), (err: unknown) => err instanceof StoreError && !err.temporary && /client_encoding LATIN1/.test(err.message));
    } finally {
      await converting.close();
    }
  });

  it('rejects a RETR whose body lost a chunk, at the first chunk or a later one, instead of hanging', async () => {
    for (const lost of [0, 1]) {
      const user = `lost${lost}`;
      await store.deliver(user, body(2 * CHUNK_SIZE + 5, lost), { trace: TRACE });
      // The database is damaged by hand: a body's list of chunks misses one.
      await store.sql`DELETE FROM blob_chunks WHERE seq = ${lost} AND blob = (SELECT blob FROM messages WHERE user_name = ${user})`;
      const drop = await store.openMaildrop(user);
      try {
        const broken = (err: unknown): boolean => err instanceof StoreError && !err.temporary && new RegExp(`chunk ${lost}`).test(err.message);
        await assert.rejects(readWire(drop, 0), broken);
        await assert.rejects(readStream(drop, 0), broken);
      } finally {
        await drop.release();
      }
    }
  });

  it('fails a RETR under way with a temporary error when the database goes away', async () => {
    // A store of its own: the others' pooled connections are not to see the restart.
    const own = new PostgresStore({ url: await cluster.createDatabase() });
    await migrate(own.sql);
    const user = 'restart';
    await own.deliver(user, body(3 * CHUNK_SIZE, 7), { trace: TRACE });
    const drop = await own.openMaildrop(user);
    try {
      const wire = await drop.openWire(0);
      const chunks = wire.chunks as AsyncIterable<{ bytes: Buffer }>;
      const iterator = chunks[Symbol.asyncIterator]();
      assert.equal((await iterator.next()).done, false);
      await cluster.kill();
      try {
        await assert.rejects(
          (async () => {
            for (let r = await iterator.next(); !r.done; r = await iterator.next());
          })(),
          (err: unknown) => err instanceof StoreError && err.temporary,
        );
      } finally {
        await cluster.start();
      }
      wire.close();
    } finally {
      await drop.release().catch(() => undefined);
      await own.close();
    }
  });

  it('reads the next message ahead of an in-order RETR, and still answers MessageGoneError for a message deleted underneath', async () => {
    const user = 'inorder';
    const texts = ['a', 'b', 'c', 'd'].map((s) => Buffer.from(`Subject: ${s}\n\n${s}\n`));
    for (const t of texts) await store.deliver(user, t);
    const drop = await store.openMaildrop(user);
    try {
      // Deleted by hand, as a session that took the lease over would: the first and the third.
      const keys = await store.sql<{ uid: string }[]>`SELECT uid::text FROM messages WHERE user_name = ${user} ORDER BY uid`;
      await store.sql`DELETE FROM messages WHERE user_name = ${user} AND uid = ANY(${[keys[0]?.uid, keys[2]?.uid] as string[]}::bigint[])`;
      await assert.rejects(readWire(drop, 0), MessageGoneError);
      assert.ok((await readWire(drop, 1)).equals(wireOf(texts[1] as Buffer)));
      // Message 3 was being read ahead while message 2 was sent: gone all the same.
      await assert.rejects(readWire(drop, 2), MessageGoneError);
      assert.ok((await readWire(drop, 3)).equals(wireOf(texts[3] as Buffer)));
      // Out of order and again: read when asked.
      assert.ok((await readWire(drop, 1, 0)).equals(wireOf(texts[1] as Buffer, 0)));
      assert.ok((await readWire(drop, 3)).equals(wireOf(texts[3] as Buffer)));
    } finally {
      await drop.release();
    }
  });

  it('reads a body one query ahead of its reader, never more', async () => {
    const user = 'ahead';
    // Chunks 1-9 after the first: two full queries and one of a single chunk.
    const chunkCount = 2 * CHUNKS_PER_QUERY + 2;
    await store.deliver(user, body(chunkCount * CHUNK_SIZE, 3));
    const [row] = await store.sql<{ blob: Buffer }[]>`SELECT blob FROM messages WHERE user_name = ${user}`;
    const queries: string[] = [];
    const counted = postgres(urlOf(store), { max: 4, debug: (_connection, query) => void (query.includes('blob_chunks') && queries.push(query)) });
    try {
      const reader = new ChunkReader(counted, (row as { blob: Buffer }).blob, chunkCount, 1);
      let read = 0;
      for (let chunk = await reader.next(); chunk !== null; chunk = await reader.next()) {
        read++;
        assert.equal(chunk.length, CHUNK_SIZE);
        // Give a reader that ran further ahead every chance to show it.
        for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
        const needed = Math.ceil(read / CHUNKS_PER_QUERY);
        assert.ok(queries.length <= needed + 1, `${queries.length} chunk queries after ${read} chunks read`);
      }
      assert.equal(read, chunkCount - 1);
      assert.equal(queries.length, Math.ceil((chunkCount - 1) / CHUNKS_PER_QUERY), 'each chunk after the first is read once');
    } finally {
      await counted.end();
    }
  });
});

/**
 * Delivers each body (unless `deliver` is false: they are there already, in this order) and
 * checks which form each of its chunks is kept in (true: text), and that RETR sends it whole.
 */
async function expectForms(store: PostgresStore, user: string, cases: readonly (readonly [string, Buffer, boolean[]])[], deliver = true): Promise<void> {
  if (deliver) for (const [, b] of cases) await store.deliver(user, b);
  const rows = await store.sql<{ uid: string; text: boolean }[]>`
    SELECT m.uid::text, c.data IS NULL AS text FROM messages m JOIN blob_chunks bc ON bc.blob = m.blob JOIN chunks c ON c.hash = bc.chunk
    WHERE m.user_name = ${user} ORDER BY m.uid, bc.seq`;
  const uids = [...new Set(rows.map((r) => r.uid))];
  const drop = await store.openMaildrop(user);
  try {
    for (const [i, [name, b, forms]] of cases.entries()) {
      assert.deepEqual(rows.filter((r) => r.uid === uids[i]).map((r) => r.text), forms, `forms of ${name}`);
      assert.ok((await readWire(drop, i)).equals(wireOf(b)), `RETR of ${name}`);
    }
  } finally {
    await drop.release();
  }
}

/** A body of exactly `size` octets: a header, then lines of varying length, some starting with a dot. */
function body(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let text = `Subject: size ${size}\n\n`;
  for (let n = 0; text.length < size; n++) {
    const line = `${n % 7 === seed % 7 ? '.' : ''}line ${n} ${'x'.repeat((n * 37 + seed) % 90)}`;
    text += `${line}\n`;
  }
  out.write(text.slice(0, size), 'latin1');
  return out;
}

/** RFC 1939 framing worked out line by line: CRLF ends, dot-stuffing, TOP's line count, the terminator. */
function wireOf(stored: Buffer, bodyLines?: number): Buffer {
  const lines = stored.toString('latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const out: string[] = [];
  let inBody = false;
  let counted = 0;
  for (const line of lines) {
    if (inBody && bodyLines !== undefined && counted >= bodyLines) break;
    out.push(`${line.startsWith('.') ? '.' : ''}${line}\r\n`);
    if (inBody) counted++;
    else if (line === '') inBody = true;
  }
  return Buffer.from(`${out.join('')}.\r\n`, 'latin1');
}

function readWire(drop: Maildrop, index: number, bodyLines?: number): Promise<Buffer> {
  return framedBytes(drop, index, bodyLines === undefined ? {} : { bodyLines });
}

async function readStream(drop: Maildrop, index: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await drop.openMessage(index)) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

function urlOf(store: PostgresStore): string {
  const o = store.sql.options;
  return `postgres://${o.user}@${o.host[0]}:${o.port[0]}/${o.database}`;
}
