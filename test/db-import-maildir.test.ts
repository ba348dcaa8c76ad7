import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MaildirStore } from '../src/store/maildir/maildir-store.js';
import { silentLogger } from '../src/log/logger.js';
import { CHUNK_SIZE } from '../src/store/postgres/blobs.js';
import { importMaildirs } from '../src/store/postgres/import-maildir.js';
import { migrate } from '../src/store/postgres/migrations.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { MailStore } from '../src/store/types.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';
import { runCli } from './support/server-process.js';

const skip = postgresUnavailable();

describe('postel db import-maildir', { skip }, () => {
  let cluster: PostgresCluster;
  let dir: string;
  before(async () => {
    cluster = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), 'postel-import-'));
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('copies every maildrop keeping UIDLs, sizes and seen state, and running it again copies nothing twice', async () => {
    const url = await cluster.createDatabase();
    const env = { ...process.env, POSTEL_STORE_URL: url };
    const data = join(dir, 'data');
    const maildir = new MaildirStore({ root: join(data, 'mail'), hostname: 'import.test' });
    for (let i = 0; i < 5; i++) await maildir.deliver('alice', Buffer.from(`Subject: a${i}\n\n${'x'.repeat(i * 1000)}\n`));
    for (let i = 0; i < 2; i++) await maildir.deliver('bob@example.org', Buffer.from(`Subject: b${i}\r\n\r\nbody\r\n`));
    // A POP3 session retrieved message 2 and deleted message 1.
    const session = await maildir.openMaildrop('alice');
    await session.commit({ deleted: new Set([0]), retrieved: new Set([1]) });
    const before = await listing(maildir, 'alice');
    const bobBefore = await listing(maildir, 'bob@example.org');

    assert.equal((await runCli(['db', 'migrate', '--data', data], '', env)).code, 0);
    // Resumable: a first run that only got to bob, then a full run.
    const first = await runCli(['db', 'import-maildir', '--data', data, '--user', 'bob@example.org'], '', env);
    assert.equal(first.code, 0, first.stderr);
    const full = await runCli(['db', 'import-maildir', '--data', data], '', env);
    assert.equal(full.code, 0, full.stderr);
    assert.match(full.stderr, /2 maildrops, 4 messages imported, 2 already there/);
    const again = await runCli(['db', 'import-maildir', '--data', data], '', env);
    assert.match(again.stderr, /2 maildrops, 0 messages imported, 6 already there/);

    const store = new PostgresStore({ url });
    try {
      assert.deepEqual(await listing(store, 'alice'), before, 'UIDLs, sizes and bytes kept');
      assert.deepEqual(await listing(store, 'bob@example.org'), bobBefore);
      const seen = await store.sql<{ seen: boolean; retrieved: boolean }[]>`
        SELECT seen, retrieved_at IS NOT NULL AS retrieved FROM messages WHERE user_name = 'alice' ORDER BY uid`;
      assert.deepEqual(seen.map((r) => r.seen), [true, false, false, false]);
      assert.deepEqual(seen.map((r) => r.retrieved), [true, false, false, false]);
      // New mail after the import gets a UIDL of its own.
      await store.deliver('alice', Buffer.from('Subject: new\n\nn\n'));
      const after = await listing(store, 'alice');
      assert.equal(new Set(after.map((m) => m.uid)).size, 5);
    } finally {
      await store.close();
    }
  });

  it('keeps the order across batches and messages larger than a chunk, the same body twice stored once', async () => {
    const url = await cluster.createDatabase();
    const data = join(dir, 'order');
    const maildir = new MaildirStore({ root: join(data, 'mail'), hostname: 'import.test' });
    const sizes = [10, CHUNK_SIZE - 100, CHUNK_SIZE + 5000, 20, 3 * CHUNK_SIZE, 0, 30];
    for (const [i, size] of sizes.entries()) await maildir.deliver('carol', Buffer.from(`Subject: c${i}\n\n${'y'.repeat(size)}\n`));
    // 1,200 small messages: more than one batch; every tenth repeats one body.
    for (let i = 0; i < 1200; i++) await maildir.deliver('dave', Buffer.from(`Subject: d${i % 10 === 0 ? 'same' : i}\n\nbody\n`));
    const store = new PostgresStore({ url });
    try {
      await migrate(store.sql);
      const counts = await importMaildirs(maildir, store, { logger: silentLogger(), concurrency: 2 });
      assert.deepEqual(counts, { users: 2, imported: sizes.length + 1200, skipped: 0 });
      assert.deepEqual(await listing(store, 'carol'), await listing(maildir, 'carol'));
      assert.deepEqual(await listing(store, 'dave'), await listing(maildir, 'dave'));
      const [blobs] = await store.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM blobs b WHERE EXISTS (SELECT 1 FROM messages m WHERE m.blob = b.hash AND m.user_name = 'dave')`;
      assert.equal(blobs?.n, 1200 - 120 + 1);
      assert.equal(await store.usage('dave'), await maildir.usage('dave'));
      const again = await importMaildirs(maildir, store, { logger: silentLogger() });
      assert.deepEqual(again, { users: 2, imported: 0, skipped: sizes.length + 1200 });
    } finally {
      await store.close();
    }
  });
});

async function listing(store: MailStore, user: string): Promise<{ uid: string; size: number; bytes: string }[]> {
  const drop = await store.openMaildrop(user);
  try {
    const out: { uid: string; size: number; bytes: string }[] = [];
    for (const [i, m] of drop.messages.entries()) {
      const chunks: Buffer[] = [];
      for await (const c of await drop.openMessage(i)) chunks.push(c as Buffer);
      // Maildir keeps LF line ends; the import copies the stored bytes as they are.
      out.push({ uid: m.uid, size: m.size, bytes: Buffer.concat(chunks).toString('latin1').replace(/\r\n/g, '\n') });
    }
    return out;
  } finally {
    await drop.release();
  }
}
