import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Mailboxes } from '../src/http/mailboxes.js';
import { silentLogger } from '../src/log/logger.js';
import { MaildirStore } from '../src/store/maildir/maildir-store.js';
import { importMaildirs } from '../src/store/postgres/import-maildir.js';
import { parseListing } from '../src/store/postgres/listing.js';
import { migrate } from '../src/store/postgres/migrations.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { MessageInfo } from '../src/store/types.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';

const skip = postgresUnavailable();

/*
 * Each node (PostgresStore) keeps the listings of maildrops it opened and reuses one only
 * while the maildrop's version is unchanged. These tests change maildrops by every path
 * there is, through one node or another, between logins, and check that no login shows a
 * list that is not the maildrop's.
 */
describe('PostgreSQL listing cache: never stale', { skip }, () => {
  let cluster: PostgresCluster;
  let dir: string;
  before(async () => {
    cluster = await startPostgres();
    dir = await mkdtemp(join(tmpdir(), 'postel-listing-'));
  });
  after(async () => {
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Two nodes on one fresh database. */
  async function twoNodes(): Promise<{ a: PostgresStore; b: PostgresStore; close: () => Promise<void> }> {
    const url = await cluster.createDatabase();
    const a = new PostgresStore({ url, nodeName: 'a' });
    const b = new PostgresStore({ url, nodeName: 'b' });
    await migrate(a.sql);
    return { a, b, close: () => Promise.all([a.close(), b.close()]).then(() => undefined) };
  }

  /** What a login shows: the messages, after releasing the maildrop. */
  async function login(store: PostgresStore, user: string): Promise<readonly MessageInfo[]> {
    const drop = await store.openMaildrop(user);
    await drop.release();
    return drop.messages;
  }

  /** What a login shows, checked against the message rows themselves. */
  async function assertCurrent(store: PostgresStore, user: string): Promise<readonly MessageInfo[]> {
    const shown = await login(store, user);
    const rows = await store.sql<{ uidl: string; size: string }[]>`SELECT uidl, size::text FROM messages WHERE user_name = ${user} ORDER BY uid`;
    assert.deepEqual(shown.map((m) => ({ uid: m.uid, size: m.size })), rows.map((r) => ({ uid: r.uidl, size: Number(r.size) })));
    return shown;
  }

  const message = (n: number): Buffer => Buffer.from(`Subject: m${n}\n\n${'x'.repeat(n)}\n`);

  it('reuses the listing of an unchanged maildrop, and not after any change', async () => {
    const { a, close } = await twoNodes();
    try {
      for (let i = 0; i < 3; i++) await a.deliver('alice', message(i));
      const first = await assertCurrent(a, 'alice');
      assert.equal(await login(a, 'alice'), first, 'the same listing object: read once');
      await a.deliver('alice', message(9));
      const after = await assertCurrent(a, 'alice');
      assert.notEqual(after, first);
      assert.equal(after.length, 4);
    } finally {
      await close();
    }
  });

  it('shows a delivery through another node between two logins', async () => {
    const { a, b, close } = await twoNodes();
    try {
      await a.deliver('alice', message(1));
      assert.equal((await assertCurrent(a, 'alice')).length, 1);
      await b.deliver('alice', message(2));
      assert.equal((await assertCurrent(a, 'alice')).length, 2);
      // And a delivery while the session is open is in the next session, not this one.
      const session = await a.openMaildrop('alice');
      await b.deliver('alice', message(3));
      assert.equal(session.messages.length, 2);
      await session.commit({ deleted: new Set(), retrieved: new Set([0]) });
      assert.equal((await assertCurrent(a, 'alice')).length, 3);
    } finally {
      await close();
    }
  });

  it('shows the list after DELE and QUIT, on the node that deleted and on the other', async () => {
    const { a, b, close } = await twoNodes();
    try {
      for (let i = 0; i < 5; i++) await a.deliver('alice', message(i));
      const before = await assertCurrent(a, 'alice');
      await assertCurrent(b, 'alice');
      const session = await b.openMaildrop('alice');
      await session.commit({ deleted: new Set([1, 3]), retrieved: new Set([0]) });
      const onA = await assertCurrent(a, 'alice');
      assert.deepEqual(onA.map((m) => m.uid), [0, 2, 4].map((i) => before[i]?.uid));
      assert.deepEqual((await assertCurrent(b, 'alice')).map((m) => m.uid), onA.map((m) => m.uid));
      // A QUIT that deletes nothing changes nothing: the listing is kept.
      const quiet = await a.openMaildrop('alice');
      await quiet.commit({ deleted: new Set(), retrieved: new Set([1]) });
      assert.equal(await login(a, 'alice'), await login(a, 'alice'));
    } finally {
      await close();
    }
  });

  it('shows a deletion made through the HTTP API on another node', async () => {
    const { a, b, close } = await twoNodes();
    try {
      const ids = [];
      for (let i = 0; i < 3; i++) ids.push((await a.deliver('alice', message(i))).id);
      await assertCurrent(a, 'alice');
      const api = new Mailboxes({ store: b, owners: { lookup: async () => ({}) } });
      assert.deepEqual(await api.delete('alice', { ids: [ids[1] as string] }), [ids[1]]);
      assert.deepEqual((await assertCurrent(a, 'alice')).map((m) => m.uid), [ids[0], ids[2]]);
      await api.delete('alice', { all: true });
      assert.deepEqual(await assertCurrent(a, 'alice'), []);
    } finally {
      await close();
    }
  });

  it('shows messages imported by db import-maildir through another store object', async () => {
    const { a, b, close } = await twoNodes();
    try {
      await a.deliver('alice', message(1));
      assert.equal((await assertCurrent(a, 'alice')).length, 1);
      const maildir = new MaildirStore({ root: join(dir, 'import', 'mail'), hostname: 'import.test' });
      await maildir.deliver('alice', message(2));
      await maildir.deliver('alice', Buffer.alloc(300 * 1024, 'z'));
      await importMaildirs(maildir, b, { logger: silentLogger() });
      assert.equal((await assertCurrent(a, 'alice')).length, 3);
      // One message at a time (importMessage, the path of messages larger than a chunk).
      await maildir.deliver('alice', message(3));
      const drop = await maildir.openMaildrop('alice');
      await b.importMessage('alice', () => drop.openMessage(2), { uidl: drop.messages[2]?.uid as string, receivedAt: null, retrievedAt: null, seen: false });
      await drop.release();
      assert.equal((await assertCurrent(a, 'alice')).length, 4);
    } finally {
      await close();
    }
  });

  it('shows what EXPIRE removed on another node', async () => {
    const { a, b, close } = await twoNodes();
    try {
      for (let i = 0; i < 3; i++) await a.deliver('alice', message(i));
      const session = await a.openMaildrop('alice');
      await session.commit({ deleted: new Set(), retrieved: new Set([0, 2]) });
      const before = await assertCurrent(a, 'alice');
      // Node b's login applies EXPIRE (retrieved messages, 0 days) under its lease.
      const expiring = await b.openMaildrop('alice', { expireDays: 0, now: new Date(Date.now() + 1000) });
      assert.deepEqual(expiring.messages.map((m) => m.uid), [before[1]?.uid]);
      await expiring.release();
      assert.deepEqual((await assertCurrent(a, 'alice')).map((m) => m.uid), [before[1]?.uid]);
    } finally {
      await close();
    }
  });

  it('keeps both nodes right through interleaved deliveries and deletions', async () => {
    const { a, b, close } = await twoNodes();
    try {
      const nodes = [a, b];
      for (let round = 0; round < 12; round++) {
        const node = nodes[round % 2] as PostgresStore;
        const other = nodes[(round + 1) % 2] as PostgresStore;
        await other.deliver('alice', message(round));
        const shown = await assertCurrent(node, 'alice');
        if (round % 3 === 2) {
          const session = await node.openMaildrop('alice');
          await session.commit({ deleted: new Set([0]), retrieved: new Set() });
          assert.equal((await assertCurrent(other, 'alice')).length, shown.length - 1);
        }
        await assertCurrent(other, 'alice');
      }
    } finally {
      await close();
    }
  });

  it('puts a listing that came out of order in UID order, keys compared as numbers', () => {
    const listing = parseListing('10 9 100', 'x10 x9 x100', '1 2 3', '17  -1');
    assert.deepEqual(listing.keys, ['9', '10', '100']);
    assert.deepEqual(listing.messages, [{ uid: 'x9', size: 2 }, { uid: 'x10', size: 1, asciiSize: 17 }, { uid: 'x100', size: 3 }]);
    assert.deepEqual(listing.unsized, [2], 'an ASCII size of -1 is not known yet');
    assert.throws(() => parseListing('1 2', 'a', '1 2', ' '), /misaligned/);
  });
});
