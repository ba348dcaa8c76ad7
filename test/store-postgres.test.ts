import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { MaildropLockedError, StoreError } from '../src/store/errors.js';
import { CHUNK_SIZE, collectGarbage } from '../src/store/postgres/blobs.js';
import { MIGRATIONS, migrate, schemaVersion, SCHEMA_VERSION } from '../src/store/postgres/migrations.js';
import { watchNewMail } from '../src/store/postgres/notifications.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { silentLogger } from '../src/log/logger.js';
import type { Maildrop } from '../src/store/types.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';
import { waitFor } from './support/wait-for.js';

const skip = postgresUnavailable();

describe('PostgreSQL store behaviour beyond the contract', { skip }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  async function freshStore(leaseSeconds = 30): Promise<PostgresStore> {
    const store = new PostgresStore({ url: await cluster.createDatabase(), leaseSeconds });
    await migrate(store.sql);
    return store;
  }

  it('migrates an empty database once and refuses to work on one not migrated', async () => {
    const url = await cluster.createDatabase();
    const store = new PostgresStore({ url });
    try {
      await assert.rejects(store.deliver('alice', Buffer.from('x\n')), (err: unknown) => err instanceof StoreError && !err.temporary && /postel db migrate/.test(err.message));
      assert.equal(await schemaVersion(store.sql), 0);
      assert.deepEqual(await migrate(store.sql), MIGRATIONS.map((m) => m.version));
      assert.deepEqual(await migrate(store.sql), [], 'a second run applies nothing');
      assert.equal(await schemaVersion(store.sql), SCHEMA_VERSION);
      await store.deliver('alice', Buffer.from('x\n'));
    } finally {
      await store.close();
    }
  });

  it('stores one body for fifty recipients once, in 256 KiB chunks', async () => {
    const store = await freshStore();
    try {
      const body = Buffer.alloc(CHUNK_SIZE * 2 + 1000, 'a');
      body.write('Subject: big\n\n');
      for (let i = 0; i < 50; i++) await store.deliver(`u${i}`, Readable.from([body.subarray(0, 70_000), body.subarray(70_000)]), { trace: `Delivered-To: u${i}@example.org\n` });
      const [counts] = await store.sql<{ blobs: number; chunks: number; messages: number }[]>`
        SELECT (SELECT count(*) FROM blobs)::int AS blobs, (SELECT count(*) FROM chunks)::int AS chunks, (SELECT count(*) FROM messages)::int AS messages`;
      assert.deepEqual(counts, { blobs: 1, chunks: 3, messages: 50 });
    } finally {
      await store.close();
    }
  });

  it('collects unreferenced bodies, never one a racing delivery is about to reference', async () => {
    const store = await freshStore();
    try {
      // Exactly one chunk: the racing delivery below writes it as soon as it has it all, then
      // waits for more input with its transaction open.
      const body = Buffer.alloc(CHUNK_SIZE, 'g');
      body.write('Subject: gc\n\n');
      await store.deliver('alice', body);
      let drop = await store.openMaildrop('alice');
      await drop.commit({ deleted: new Set([0]), retrieved: new Set() });
      // Aged: garbage to any collector now.
      await store.sql`UPDATE chunks SET touched_at = now() - interval '2 days'`;
      await store.sql`UPDATE blobs SET touched_at = now() - interval '2 days'`;

      // A delivery of the same body that has written its chunk and waits for more input.
      let finish: () => void = () => undefined;
      const more = new Promise<void>((resolve) => (finish = resolve));
      const slow = Readable.from(
        (async function* () {
          yield body;
          await more;
        })(),
      );
      const delivering = store.deliver('alice', slow);
      // Wait until the delivery's upsert holds the chunk row (and only then let GC race it).
      await waitFor(async () => {
        const [row] = await store.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE 'INSERT INTO chunks%' AND state = 'idle in transaction'`;
        return (row?.n ?? 0) > 0;
      }, 'the delivery to hold the chunk row', 60_000);
      const collecting = collectGarbage(store.sql, 3600);
      finish();
      await delivering;
      const removed = await collecting;
      assert.equal(removed.chunks, 0, 'the chunk the delivery touched survives');
      drop = await store.openMaildrop('alice');
      try {
        assert.equal(drop.messages.length, 1);
        assert.equal(await text(drop, 0), body.toString());
      } finally {
        await drop.release();
      }

      // Unreferenced and old enough: gone.
      drop = await store.openMaildrop('alice');
      await drop.commit({ deleted: new Set([0]), retrieved: new Set() });
      assert.deepEqual(await collectGarbage(store.sql, 0), { blobs: 1, chunks: 1 });
    } finally {
      await store.close();
    }
  });

  it('fences a session whose lease was taken over: its DELEs are never applied', async () => {
    const a = await freshStore();
    const b = new PostgresStore({ url: urlOf(a), leaseSeconds: 30 });
    try {
      await a.deliver('alice', Buffer.from('Subject: keep me\n\nx\n'));
      const first = await a.openMaildrop('alice');
      await assert.rejects(b.openMaildrop('alice'), MaildropLockedError, 'the lease holds against another node');
      // The first node stalls past its lease; the second takes over with a new token.
      await a.sql`UPDATE leases SET expires_at = clock_timestamp() - interval '1 second'`;
      const second = await b.openMaildrop('alice');
      await assert.rejects(first.commit({ deleted: new Set([0]), retrieved: new Set() }), (err: unknown) => err instanceof StoreError && err.temporary);
      assert.equal(second.messages.length, 1);
      await second.release();
      const third = await b.openMaildrop('alice');
      assert.equal(third.messages.length, 1, 'nothing deleted');
      await third.release();
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('renews a lease while the session lives', async () => {
    const store = await freshStore(3);
    try {
      const drop = await store.openMaildrop('alice');
      const [before] = await store.sql<{ at: Date }[]>`SELECT expires_at AS at FROM leases`;
      let renewed = false;
      for (let i = 0; i < 100 && !renewed; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const [now] = await store.sql<{ at: Date }[]>`SELECT expires_at AS at FROM leases`;
        renewed = (now?.at.getTime() ?? 0) > (before?.at.getTime() ?? 0);
      }
      assert.ok(renewed, 'expires_at moved forward');
      await drop.commit({ deleted: new Set(), retrieved: new Set() });
      assert.equal((await store.sql`SELECT 1 FROM leases`).length, 0, 'QUIT ends the lease');
    } finally {
      await store.close();
    }
  });

  it('notifies new mail from any node and resynchronises after the database restarts', async () => {
    const store = await freshStore();
    const other = new PostgresStore({ url: urlOf(store) });
    const mail: string[] = [];
    let resyncs = 0;
    const waiters: (() => void)[] = [];
    const changed = (): void => void waiters.splice(0).forEach((w) => w());
    const until = async (ok: () => boolean): Promise<void> => {
      for (let i = 0; i < 100 && !ok(); i++) await Promise.race([new Promise<void>((r) => waiters.push(r)), new Promise((r) => setTimeout(r, 200))]);
      assert.ok(ok());
    };
    const stop = await watchNewMail(
      store.sql,
      {
        onMail: (user) => {
          mail.push(user);
          changed();
        },
        onResync: () => {
          resyncs++;
          changed();
        },
      },
      silentLogger(),
    );
    try {
      await until(() => resyncs === 1);
      await other.deliver('alice', Buffer.from('Subject: n\n\n1\n'));
      await until(() => mail.includes('alice'));

      await cluster.restart();
      // Reconnects by itself: a delivery after the restart works and is announced.
      await until(() => resyncs >= 2);
      await other.deliver('bob', Buffer.from('Subject: n\n\n2\n')).catch(() => other.deliver('bob', Buffer.from('Subject: n\n\n2\n')));
      await until(() => mail.includes('bob'));
    } finally {
      await stop();
      await other.close();
      await store.close();
    }
  });

  it('answers temporary errors while the database is down and recovers by itself', async () => {
    const store = await freshStore();
    try {
      await store.deliver('alice', Buffer.from('Subject: before\n\n1\n'));
      await cluster.kill();
      try {
        await assert.rejects(store.deliver('alice', Buffer.from('Subject: lost\n\n2\n')), (err: unknown) => err instanceof StoreError && err.temporary);
        await assert.rejects(store.openMaildrop('alice'), (err: unknown) => err instanceof StoreError && err.temporary);
      } finally {
        await cluster.start();
      }
      await store.deliver('alice', Buffer.from('Subject: after\n\n3\n'));
      const drop = await store.openMaildrop('alice');
      try {
        assert.deepEqual([await text(drop, 0), await text(drop, 1)], ['Subject: before\n\n1\n', 'Subject: after\n\n3\n'], 'nothing of the refused delivery');
      } finally {
        await drop.release();
      }
    } finally {
      await store.close();
    }
  });

  it('streams a large message with bounded memory, one chunk query at a time', async () => {
    const store = await freshStore();
    try {
      const size = CHUNK_SIZE * 40;
      const source = Readable.from(
        (function* () {
          yield Buffer.from('Subject: large\n\n');
          for (let sent = 0; sent < size; sent += 65_536) yield Buffer.alloc(65_536, 0x61 + ((sent / 65_536) % 26));
        })(),
      );
      const result = await store.deliver('alice', source);
      const drop = await store.openMaildrop('alice');
      try {
        assert.equal(drop.messages[0]?.size, result.size);
        const stream = await drop.openMessage(0);
        // Read one chunk, then stop: the stream must not have fetched the whole body ahead.
        const first = await new Promise<Buffer>((resolve) => stream.once('data', (c: Buffer) => { stream.pause(); resolve(c); }));
        assert.ok(first.length > 0);
        await new Promise((r) => setImmediate(r));
        assert.ok(stream.readableLength <= CHUNK_SIZE * 2, `buffered ${stream.readableLength} octets ahead`);
        let total = first.length;
        stream.resume();
        for await (const chunk of stream) total += (chunk as Buffer).length;
        assert.equal(total, 16 + size);
      } finally {
        await drop.release();
      }
    } finally {
      await store.close();
    }
  });
});

function urlOf(store: PostgresStore): string {
  const o = store.sql.options;
  return `postgres://${o.user}@${o.host[0]}:${o.port[0]}/${o.database}`;
}

async function text(drop: Maildrop, index: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await drop.openMessage(index)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}
