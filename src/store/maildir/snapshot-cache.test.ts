import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../log/logger.js';
import { ensureMaildir, maildirLayout, type MaildirLayout } from './layout.js';
import { SnapshotCache } from './snapshot-cache.js';
import { messageInfos } from './message-infos.js';
import { saveSnapshotFile, SNAPSHOT_FILE } from './snapshot-file.js';
import type { Snapshot, SnapshotOptions } from './snapshot.js';

/** The caches' clock: settle() moves it past their racy window, so what was just changed can be cached. */
let offset = 0;
const clock = (): number => Date.now() + offset;
const settle = (): void => {
  offset += 100;
};

describe('SnapshotCache reuses a snapshot only while the maildrop is unchanged', () => {
  let root: string;
  let layout: MaildirLayout;
  const options: SnapshotOptions = { nowSecs: Math.floor(Date.now() / 1000), expireDays: undefined, logger: silentLogger() };
  /** A take whose snapshot file, when it writes one, is on disk once this resolves. */
  const takeSaved = async (cache: SnapshotCache, user: string, at: MaildirLayout): Promise<Snapshot> => {
    const snapshot = await cache.take(user, at, options);
    await cache.settled();
    return snapshot;
  };
  /** The Maildir of `user` with three small messages in new/, delivered from `secs` on. */
  const threeMessages = async (user: string, secs: number): Promise<MaildirLayout> => {
    const at = maildirLayout(root, user);
    await ensureMaildir(at);
    for (let i = 0; i < 3; i++) await writeFile(join(at.new, `${secs + i}.M1P1.test,S=6,W=7`), 'hello\n');
    return at;
  };
  let n = 0;
  const drop = async (): Promise<string> => {
    const name = `${1700000000 + n++}.M1P1.test,S=6,W=7`;
    await writeFile(join(layout.new, name), 'hello\n');
    return name;
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'postel-snapcache-'));
    layout = maildirLayout(root, 'alice');
    await ensureMaildir(layout);
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('hands out the same snapshot for an untouched maildrop, and notices every kind of change', async () => {
    const cache = new SnapshotCache(1000, { racyWindowMs: 50, now: clock });
    const first = await drop();
    await drop();
    assert.equal((await cache.take('alice', layout, options)).messages.length, 2, 'index created');
    settle();
    const cached = await cache.take('alice', layout, options);
    assert.equal(await cache.take('alice', layout, options), cached, 'unchanged: reused');

    await drop();
    const afterDelivery = await cache.take('alice', layout, options);
    assert.notEqual(afterDelivery, cached);
    assert.equal(afterDelivery.messages.length, 3, 'a message delivered right after is seen');

    settle();
    await cache.take('alice', layout, options);
    await unlink(join(layout.new, first));
    assert.equal((await cache.take('alice', layout, options)).messages.length, 2, 'a message removed by another program is gone');

    settle();
    const [name] = await readdir(layout.new);
    const kept = await cache.take('alice', layout, options);
    await rename(join(layout.new, name as string), join(layout.cur, `${name}:2,S`));
    const moved = await cache.take('alice', layout, options);
    assert.notEqual(moved, kept, 'a file moved to cur/ by another client invalidates');
    assert.ok(moved.messages.some((m) => m.dir === 'cur'));
  });

  it('forgets a snapshot whose maildrop is being committed, and keeps none past its bound', async () => {
    const cache = new SnapshotCache(1000, { racyWindowMs: 50, now: clock });
    await cache.take('alice', layout, options);
    settle();
    const cached = await cache.take('alice', layout, options);
    assert.equal(await cache.take('alice', layout, options), cached);
    cache.forget('alice');
    assert.notEqual(await cache.take('alice', layout, options), cached);

    const tiny = new SnapshotCache(1, { racyWindowMs: 50, now: clock });
    settle();
    const a = await tiny.take('alice', layout, options);
    assert.notEqual(await tiny.take('alice', layout, options), a, 'more messages than the bound: not kept');
    const off = new SnapshotCache(0, { racyWindowMs: 50, now: clock });
    const b = await off.take('alice', layout, options);
    assert.notEqual(await off.take('alice', layout, options), b, 'a bound of 0 keeps nothing');
  });

  it('keeps nothing when EXPIRE is on: time alone changes the maildrop', async () => {
    const cache = new SnapshotCache(1000, { racyWindowMs: 50, now: clock });
    const expiring = { ...options, expireDays: 3 };
    settle();
    const a = await cache.take('alice', layout, expiring);
    assert.notEqual(await cache.take('alice', layout, expiring), a);
  });

  it('another process opens an unchanged maildrop from the snapshot file, and a changed one by listing it', async () => {
    const bob = await threeMessages('bob', 1700000100);
    // A message with a UTF-8 header (an ASCII size of its own) and one in cur/ with flags.
    await writeFile(join(bob.new, '1700000104.M1P1.test,S=22,W=25'), 'Subject: caf\u00e9\n\nhello\n');
    await writeFile(join(bob.cur, '1700000105.M1P1.test,S=6,W=7:2,S'), 'hello\n');
    // persistMinMessages 1: every snapshot is saved (the default is for large maildrops only).
    const worker = (): SnapshotCache => new SnapshotCache(1000, { racyWindowMs: 50, now: clock, persistMinMessages: 1 });
    settle();
    const first = await takeSaved(worker(), 'bob', bob);
    assert.equal(first.messages.length, 5);
    assert.ok(first.messages.some((m) => typeof m.asciiSize === 'number'), 'the UTF-8 message has an ASCII form');
    const file = join(bob.dir, SNAPSHOT_FILE);

    const second = await takeSaved(worker(), 'bob', bob);
    const shape = (s: Snapshot): unknown => [s.uidValidity, s.nextUid, s.messages.map((m) => [m.uid, m.size, m.retrievedAt, m.basename, m.dir, m.fileName, m.uidl, m.asciiSize])];
    assert.deepEqual(shape(second), shape(first));
    assert.deepEqual(messageInfos(second), messageInfos(first), 'the session sees the same UIDLs and sizes');

    // The file, not a listing, is what the second process used: what it says is what it got.
    const identity = identityIn(await readFile(file));
    const told = { ...first, messages: first.messages.map((m, i) => (i === 0 ? { ...m, dir: 'cur' as const, fileName: `${m.basename}:2,S`, uidl: 'inherited-1' } : m)) };
    await saveSnapshotFile(bob, identity, told);
    const fromFile = await takeSaved(worker(), 'bob', bob);
    assert.equal(fromFile.messages[0]?.dir, 'cur');
    assert.equal(fromFile.messages[0]?.fileName, `${first.messages[0]?.basename}:2,S`);
    assert.equal(fromFile.messages[0]?.basename, first.messages[0]?.basename);
    assert.equal(messageInfos(fromFile)[0]?.uid, 'inherited-1');

    const whole = await readFile(file);
    for (const broken of [Buffer.from('garbage\n'), whole.subarray(0, whole.length - 3), Buffer.concat([whole, Buffer.from('x')])]) {
      await writeFile(file, broken);
      assert.deepEqual(shape(await takeSaved(worker(), 'bob', bob)), shape(first), 'a broken file: listed again');
    }

    await writeFile(join(bob.new, '1700000200.M1P1.test,S=6,W=7'), 'hello\n');
    settle();
    const changed = await takeSaved(worker(), 'bob', bob);
    assert.equal(changed.messages.length, 6, 'a delivery makes the file stale');
    assert.equal((await takeSaved(worker(), 'bob', bob)).messages.length, 6, 'and the new file is used next');
  });

  it('the snapshot file is written after the take that made it has answered, and settled() waits for it', async () => {
    const gina = await threeMessages('gina', 1700000600);
    const saved: string[] = [];
    const cache = new SnapshotCache(1000, { racyWindowMs: 50, now: clock, persistMinMessages: 1, onSaved: (user) => saved.push(user) });
    settle();
    const file = join(gina.dir, SNAPSHOT_FILE);
    await cache.take('gina', gina, options);
    assert.equal(await readFile(file).catch(() => null), null, 'not written while the login waits');
    assert.deepEqual(saved, []);
    await cache.settled();
    assert.ok((await readFile(file)).length > 0, 'written once settled');
    assert.deepEqual(saved, ['gina']);
  });

  it('a process adopts the snapshot file another saved: its next take is that snapshot, not a read or a listing', async () => {
    const dave = await threeMessages('dave', 1700000400);
    const saved: string[] = [];
    const saver = new SnapshotCache(1000, { racyWindowMs: 50, now: clock, persistMinMessages: 1, onSaved: (user) => saved.push(user) });
    settle();
    const first = await takeSaved(saver, 'dave', dave);
    assert.deepEqual(saved, ['dave'], 'the saving process tells of the file');
    assert.equal(await saver.take('dave', dave, options), first);
    assert.deepEqual(saved, ['dave'], 'a cache hit writes no file and tells nothing');

    // What the file says is what the adopting process holds: the file says message 1 has an
    // inherited UIDL, which a listing would not find.
    const file = join(dave.dir, SNAPSHOT_FILE);
    const told = { ...first, messages: first.messages.map((m, i) => (i === 0 ? { ...m, uidl: 'inherited-1' } : m)) };
    await saveSnapshotFile(dave, identityIn(await readFile(file)), told);
    const other = new SnapshotCache(1000, { racyWindowMs: 50, now: clock, persistMinMessages: 1 });
    assert.equal(await other.adopt('dave', dave), true);
    // The file is gone now: the next take can only come from memory.
    await writeFile(file, 'garbage\n');
    const taken = await other.take('dave', dave, options);
    assert.equal(messageInfos(taken)[0]?.uid, 'inherited-1', 'taken from the adopted snapshot');
    assert.equal(await other.take('dave', dave, options), taken);

    // A file that does not fit the maildrop as it is now is not adopted.
    await writeFile(join(dave.new, '1700000410.M1P1.test,S=6,W=7'), 'hello\n');
    settle();
    const late = new SnapshotCache(1000, { racyWindowMs: 50, now: clock, persistMinMessages: 1 });
    assert.equal(await late.adopt('dave', dave), false, 'stale file');
    assert.equal((await late.take('dave', dave, options)).messages.length, 4, 'listed instead');
    assert.equal(await new SnapshotCache(0, { racyWindowMs: 50, now: clock }).adopt('dave', dave), false, 'a cache bound of 0 adopts nothing');
  });

  it('a login and an adoption of the same maildrop under way at once leave it counted once', async () => {
    const [erin, fred] = [await threeMessages('erin', 1700000500), await threeMessages('fred', 1700000510)];
    settle();
    await takeSaved(new SnapshotCache(1000, { racyWindowMs: 50, now: clock, persistMinMessages: 1 }), 'erin', erin);
    // Room for both maildrops, exactly: a maildrop counted twice would push the other out.
    const cache = new SnapshotCache(6, { racyWindowMs: 50, now: clock, persistMinMessages: 1 });
    const adopting = cache.adopt('erin', erin);
    const taking = cache.take('erin', erin, options);
    await Promise.all([adopting, taking]);
    const kept = await cache.take('erin', erin, options);
    assert.equal((await cache.take('fred', fred, options)).messages.length, 3);
    assert.equal(await cache.take('erin', erin, options), kept, 'both maildrops fit: erin is still cached');
  });

  it('a snapshot file goes stale when another program moves or removes a file behind it', async () => {
    const carol = maildirLayout(root, 'carol');
    await ensureMaildir(carol);
    const names = [0, 1, 2].map((i) => `${1700000300 + i}.M1P1.test,S=6,W=7`);
    for (const name of names) await writeFile(join(carol.new, name), 'hello\n');
    const worker = (): SnapshotCache => new SnapshotCache(1000, { racyWindowMs: 50, now: clock, persistMinMessages: 1 });
    settle();
    const cached = worker();
    const first = await takeSaved(cached, 'carol', carol);
    assert.equal(first.messages.length, 3);
    // Another client (Dovecot's IMAP) marks one seen and deletes another, as Maildir does:
    // a rename into cur/ and an unlink.
    await rename(join(carol.new, names[0] as string), join(carol.cur, `${names[0]}:2,S`));
    await unlink(join(carol.new, names[1] as string));
    for (const take of [() => worker().take('carol', carol, options), () => cached.take('carol', carol, options)]) {
      const now = await take();
      assert.deepEqual(
        now.messages.map((m) => [m.basename, m.dir]),
        [
          [names[0], 'cur'],
          [names[2], 'new'],
        ],
      );
    }
  });
});

/** The identity a snapshot file was written for (from its JSON header). */
function identityIn(file: Buffer): string {
  const magic = 'postel-snapshot 2\n'.length;
  const length = file.readUInt32LE(magic);
  return (JSON.parse(file.toString('utf8', magic + 4, magic + 4 + length)) as { identity: string }).identity;
}
