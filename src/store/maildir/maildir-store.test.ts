import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createLogger } from '../../log/logger.js';
import { wireSize } from '../../message/wire-size.js';
import { MessageGoneError, StoreError } from '../errors.js';
import type { Maildrop } from '../types.js';
import { MaildirStore } from './maildir-store.js';

const isRoot = process.getuid?.() === 0;

let root: string;
let store: MaildirStore;
const dirOf = (user: string, sub = ''): string => join(root, user, sub);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'postel-maildir-'));
  store = new MaildirStore({ root, hostname: 'mx.example' });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function read(drop: Maildrop, index: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await drop.openMessage(index)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('latin1');
}

async function indexLines(user: string): Promise<string[]> {
  return (await readFile(dirOf(user, 'postel-uidlist'), 'utf8')).trimEnd().split('\n');
}

describe('MaildirStore delivery', () => {
  it('writes new/<unique>,S=,W= with LF line ends and private modes', async () => {
    const content = 'Subject: hi\r\n\r\nline\r\nbare\ncr\rend';
    const result = await store.deliver('alice', Buffer.from(content, 'latin1'));
    const names = await readdir(dirOf('alice', 'new'));
    assert.equal(names.length, 1);
    const name = names[0] as string;
    const stored = 'Subject: hi\n\nline\nbare\ncr\rend';
    assert.match(name, /^\d+\.M\d+P\d+Q\d+R[0-9a-f]{8}\.mx\.example,S=\d+,W=\d+$/);
    assert.equal(name, `${result.id},S=${stored.length},W=${wireSize(Buffer.from(content, 'latin1'))}`);
    assert.equal(result.size, wireSize(Buffer.from(content, 'latin1')));
    assert.equal(await readFile(join(dirOf('alice', 'new'), name), 'latin1'), stored);
    assert.deepEqual(await readdir(dirOf('alice', 'tmp')), []);
    assert.deepEqual(await readdir(dirOf('alice', 'cur')), []);
    assert.equal((await stat(join(dirOf('alice', 'new'), name))).mode & 0o777, 0o600);
    for (const d of ['', 'new', 'cur', 'tmp']) assert.equal((await stat(dirOf('alice', d))).mode & 0o777, 0o700);
  });

  it('escapes / , and : of the host name like Dovecot', async () => {
    const odd = new MaildirStore({ root, hostname: 'a/b:c,d' });
    const { id } = await odd.deliver('alice', Buffer.from('x\n'));
    assert.ok(id.endsWith('.a\\057b\\072c\\054d'), id);
  });

  it('sets the file mtime to the received date (Dovecot reads it as such)', async () => {
    const receivedAt = new Date('2023-01-02T03:04:05Z');
    await store.deliver('alice', Buffer.from('x\n'), { receivedAt });
    const [name] = await readdir(dirOf('alice', 'new'));
    assert.equal((await stat(join(dirOf('alice', 'new'), name as string))).mtimeMs, receivedAt.getTime());
  });

  it('refuses user names that could escape the mail root', async () => {
    for (const bad of ['', 'a/b', 'a\\b', 'a\0b', 'a\nb', 'tab\tname', 'del\x7f', '.hidden', '..', 'a..b', '../x']) {
      await assert.rejects(store.deliver(bad, Buffer.from('x\n')), (err: unknown) => {
        assert.ok(err instanceof StoreError, `deliver ${JSON.stringify(bad)}`);
        assert.equal(err.temporary, false);
        return true;
      });
      await assert.rejects(store.openMaildrop(bad), (err: unknown) => err instanceof StoreError && !err.temporary);
    }
    assert.deepEqual(await readdir(root), []);
    await store.deliver('user@example.org', Buffer.from('x\n'));
    await store.deliver('with space', Buffer.from('x\n'));
  });

  it('rejects as temporary and leaves nothing when tmp/ is unusable', async () => {
    await store.deliver('alice', Buffer.from('first\n'));
    await rm(dirOf('alice', 'tmp'), { recursive: true });
    await writeFile(dirOf('alice', 'tmp'), 'not a directory');
    await assert.rejects(store.deliver('alice', Buffer.from('second\n')), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.equal(err.temporary, true);
      return true;
    });
    assert.equal((await readdir(dirOf('alice', 'new'))).length, 1);
  });

  it('removes the written tmp file when the move into new/ fails', async () => {
    await store.deliver('alice', Buffer.from('first\n'));
    await rm(dirOf('alice', 'new'), { recursive: true });
    await writeFile(dirOf('alice', 'new'), 'not a directory');
    await assert.rejects(
      store.deliver('alice', Buffer.alloc(200_000, 0x41)),
      (err: unknown) => err instanceof StoreError && err.temporary,
    );
    assert.deepEqual(await readdir(dirOf('alice', 'tmp')), []);
  });

  it('rejects as temporary when new/ is not writable', { skip: isRoot && 'running as root: permissions do not stop writes' }, async () => {
    await store.deliver('alice', Buffer.from('first\n'));
    await chmod(dirOf('alice', 'new'), 0o500);
    try {
      await assert.rejects(store.deliver('alice', Buffer.from('x\n')), (err: unknown) => err instanceof StoreError && err.temporary);
      assert.equal((await readdir(dirOf('alice', 'new'))).length, 1);
      assert.deepEqual(await readdir(dirOf('alice', 'tmp')), []);
    } finally {
      await chmod(dirOf('alice', 'new'), 0o700);
    }
  });

  it('cleans tmp/ after a delivery stream fails', async () => {
    const { Readable } = await import('node:stream');
    const input = new Readable({ read() {} });
    input.push(Buffer.alloc(100_000, 0x42));
    setTimeout(() => input.destroy(new Error('peer reset')), 20);
    await assert.rejects(store.deliver('alice', input), (err: unknown) => err instanceof StoreError && err.temporary);
    assert.deepEqual(await readdir(dirOf('alice', 'tmp')), []);
    assert.deepEqual(await readdir(dirOf('alice', 'new')), []);
  });
});

describe('MaildirStore sessions', () => {
  it('lists foreign files with correct sizes and gives them UIDs after the known ones', async () => {
    await store.deliver('alice', Buffer.from('Subject: one\n\n1\n'));
    await store.deliver('alice', Buffer.from('Subject: two\n\n2\n'));
    let drop = await store.openMaildrop('alice');
    const known = drop.messages.map((m) => m.uid);
    await drop.release();

    const foreign: [string, string, string, number][] = [
      // [dir, name, content, mtime]
      ['new', '1700000000.V801I5M123.postfix-host', 'Subject: postfix\r\n\r\ncrlf body\r\n', 1_700_000_100],
      ['cur', 'a name with spaces:2,', 'Subject: spaces\n\nlf body\n', 1_700_000_200],
      ['cur', 'seen-elsewhere:2,RS', 'Subject: seen\n\nno final newline', 1_700_000_300],
      ['new', 'has-wrong-ext.eml', 'Subject: eml\r\n\r\nmixed\nends\r\n', 1_700_000_400],
    ];
    // Written in reverse so that only the mtime can explain the expected order.
    for (const [dir, name, content, mtime] of [...foreign].reverse()) {
      const path = join(dirOf('alice', dir), name);
      await writeFile(path, content, 'latin1');
      await utimes(path, mtime, mtime);
    }
    await writeFile(join(dirOf('alice', 'new'), '.hidden'), 'ignored\n');
    await mkdir(join(dirOf('alice', 'cur'), 'a-directory'));

    drop = await store.openMaildrop('alice');
    try {
      assert.equal(drop.messages.length, 6);
      assert.deepEqual(drop.messages.slice(0, 2).map((m) => m.uid), known);
      const uids = drop.messages.map((m) => m.uid);
      assert.deepEqual([...uids].sort(), uids, 'UIDLs grow with delivery order');
      for (const [i, [, , content]] of foreign.entries()) {
        assert.equal(drop.messages[i + 2]?.size, wireSize(Buffer.from(content, 'latin1')), content);
        assert.equal(await read(drop, i + 2), content);
      }
    } finally {
      await drop.release();
    }
    // Seen by another client: counted as retrieved now, which starts the EXPIRE clock.
    const seen = (await indexLines('alice')).find((l) => l.endsWith(' seen-elsewhere'));
    assert.match(seen ?? '', /^5 \d+ [1-9]\d* - = seen-elsewhere$/);
    const spaced = (await indexLines('alice')).find((l) => l.endsWith(' a name with spaces'));
    assert.match(spaced ?? '', /^4 \d+ 0 - = a name with spaces$/);
  });

  it('moves retrieved messages to cur/ with the S flag, keeping other flags in order', async () => {
    await store.deliver('alice', Buffer.from('one\n'));
    await store.deliver('alice', Buffer.from('two\n'));
    await writeFile(join(dirOf('alice', 'cur'), 'flagged:2,FR'), 'three\n');
    await writeFile(join(dirOf('alice', 'cur'), 'keyword:2,Ta'), 'four\n');
    await writeFile(join(dirOf('alice', 'cur'), 'already:2,S'), 'five\n');
    const newNames = await readdir(dirOf('alice', 'new'));
    const drop = await store.openMaildrop('alice');
    await drop.commit({ deleted: new Set([1]), retrieved: new Set([0, 1, 2, 3, 4]) });
    const cur = (await readdir(dirOf('alice', 'cur'))).sort();
    const first = [...newNames].sort((a, b) => (a < b ? -1 : 1))[0] as string;
    assert.deepEqual(await readdir(dirOf('alice', 'new')), []);
    assert.equal(cur.length, 4);
    assert.ok(cur.includes('flagged:2,FRS'), cur.join());
    assert.ok(cur.includes('keyword:2,STa'), cur.join());
    assert.ok(cur.includes('already:2,S'), cur.join());
    assert.equal(cur.filter((n) => n.endsWith(':2,S') && n !== 'already:2,S').length, 1);
    assert.ok(newNames.includes(first));
    const lines = await indexLines('alice');
    assert.equal(lines.length, 5);
    for (const line of lines.slice(1)) assert.match(line, /^\d+ \d+ [1-9]\d* /);
  });

  it('finds a message another program moved and reports one that vanished', async () => {
    await store.deliver('alice', Buffer.from('Subject: moving\n\nbody\n'));
    await store.deliver('alice', Buffer.from('Subject: vanishing\n\nbody\n'));
    const drop = await store.openMaildrop('alice');
    const names = await readdir(dirOf('alice', 'new'));
    const sizes = drop.messages.map((m) => m.size);
    // Told apart by content: name order is not delivery order (microseconds and counters are not zero-padded).
    const subjects = await Promise.all(names.map(async (n) => (await readFile(join(dirOf('alice', 'new'), n), 'utf8')).split('\n')[0]));
    const moving = names[subjects.indexOf('Subject: moving')] as string;
    const vanishing = names[subjects.indexOf('Subject: vanishing')] as string;
    await rename(join(dirOf('alice', 'new'), moving), join(dirOf('alice', 'cur'), `${moving}:2,F`));
    await rm(join(dirOf('alice', 'new'), vanishing));
    assert.equal(await read(drop, 0), 'Subject: moving\n\nbody\n');
    await assert.rejects(drop.openMessage(1), MessageGoneError);
    await drop.commit({ deleted: new Set([0]), retrieved: new Set() });
    assert.deepEqual(await readdir(dirOf('alice', 'cur')), []);
    assert.equal(sizes.length, 2);
    const next = await store.openMaildrop('alice');
    assert.equal(next.messages.length, 0);
    await next.release();
  });

  it('never lists tmp/ files and removes those older than 36 hours', async () => {
    await store.deliver('alice', Buffer.from('real\n'));
    await writeFile(join(dirOf('alice', 'tmp'), 'fresh.in-progress'), 'partial');
    const old = join(dirOf('alice', 'tmp'), 'old.abandoned');
    await writeFile(old, 'partial');
    const longAgo = Date.now() / 1000 - 37 * 3600;
    await utimes(old, longAgo, longAgo);
    const drop = await store.openMaildrop('alice');
    assert.equal(drop.messages.length, 1);
    assert.equal(await read(drop, 0), 'real\n');
    await drop.release();
    assert.deepEqual(await readdir(dirOf('alice', 'tmp')), ['fresh.in-progress']);
  });

  it('writes the index in the documented format', async () => {
    const first = await store.deliver('alice', Buffer.from('a\n'));
    const second = await store.deliver('alice', Buffer.from('bb\r\n'));
    const before = Math.floor(Date.now() / 1000);
    const drop = await store.openMaildrop('alice');
    await drop.release();
    const lines = await indexLines('alice');
    const header = /^postel-uidlist 3 (\d+) 3$/.exec(lines[0] ?? '');
    assert.ok(header, lines[0]);
    const validity = Number(header[1]);
    assert.ok(validity >= before && validity <= before + 2);
    // In delivery order, which sorting the names does not give (their microseconds may differ in length).
    const names = await readdir(dirOf('alice', 'new'));
    const nameOf = (id: string): string | undefined => names.find((n) => n.startsWith(`${id},`));
    assert.equal(names.length, 2);
    assert.deepEqual(lines.slice(1).sort(), [`1 3 0 - = ${nameOf(first.id)}`, `2 4 0 - = ${nameOf(second.id)}`].sort());
    const hex = validity.toString(16).toUpperCase().padStart(8, '0');
    assert.deepEqual(drop.messages.map((m) => m.uid), [`${hex}00000001`, `${hex}00000002`]);
  });

  it('rebuilds a corrupt index with a new UIDVALIDITY and logs it', async () => {
    const logged: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        logged.push(chunk.toString());
        done();
      },
    });
    const logging = new MaildirStore({ root, hostname: 'mx.example', logger: createLogger({ level: 'warn', destination }) });
    await logging.deliver('alice', Buffer.from('one\n'));
    await logging.deliver('alice', Buffer.from('two\n'));
    let drop = await logging.openMaildrop('alice');
    const before = drop.messages.map((m) => m.uid);
    await drop.release();
    await writeFile(dirOf('alice', 'postel-uidlist'), 'postel-uidlist 1 garbage\n\0\0\0');
    drop = await logging.openMaildrop('alice');
    try {
      assert.equal(drop.messages.length, 2);
      const after = drop.messages.map((m) => m.uid);
      assert.ok(after.every((uid) => !before.includes(uid)), 'clients must see new UIDLs');
      assert.equal(await read(drop, 0), 'one\n');
    } finally {
      await drop.release();
    }
    const files = await readdir(dirOf('alice'));
    assert.ok(files.some((f) => f.startsWith('postel-uidlist.broken-')), files.join());
    assert.match(await readFile(dirOf('alice', 'postel-uidlist'), 'utf8'), /^postel-uidlist 3 \d+ 3\n/);
    assert.ok(logged.some((line) => line.includes('corrupt UID index')), logged.join());
  });

  it('expires retrieved messages from disk and from the index', async () => {
    await store.deliver('alice', Buffer.from('old\n'));
    await store.deliver('alice', Buffer.from('kept\n'));
    const t0 = new Date();
    let drop = await store.openMaildrop('alice', { now: t0 });
    await drop.commit({ deleted: new Set(), retrieved: new Set([0]) });
    assert.equal((await readdir(dirOf('alice', 'cur'))).length, 1);
    drop = await store.openMaildrop('alice', { now: new Date(t0.getTime() + 5 * 86_400_000), expireDays: 5 });
    await drop.release();
    assert.deepEqual(await readdir(dirOf('alice', 'cur')), []);
    assert.equal((await readdir(dirOf('alice', 'new'))).length, 1);
    assert.equal((await indexLines('alice')).length, 2);
  });

  it('still releases the lock and reports how many deletions failed', async () => {
    for (let i = 0; i < 3; i++) await store.deliver('alice', Buffer.from(`m${i}\n`));
    const drop = await store.openMaildrop('alice');
    const [, victim] = (await readdir(dirOf('alice', 'new'))).sort();
    // A directory in place of the file makes unlink fail even for root.
    await rm(join(dirOf('alice', 'new'), victim as string));
    await mkdir(join(dirOf('alice', 'new'), victim as string));
    await assert.rejects(drop.commit({ deleted: new Set([0, 1]), retrieved: new Set() }), (err: unknown) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /1 of 2 deletions/);
      return true;
    });
    // The one that could not be deleted stays in the index.
    assert.equal((await indexLines('alice')).length, 3);
    const next = await store.openMaildrop('alice');
    assert.equal(next.messages.length, 1);
    assert.equal(await read(next, 0), 'm2\n');
    await next.release();
  });

  it('deletes nothing and says so when the first deletion fails', async () => {
    for (let i = 0; i < 3; i++) await store.deliver('alice', Buffer.from(`m${i}\n`));
    const drop = await store.openMaildrop('alice');
    const [victim] = (await readdir(dirOf('alice', 'new'))).sort();
    await rm(join(dirOf('alice', 'new'), victim as string));
    await mkdir(join(dirOf('alice', 'new'), victim as string));
    await assert.rejects(drop.commit({ deleted: new Set([0, 1, 2]), retrieved: new Set() }), (err: unknown) => {
      assert.ok(err instanceof StoreError && err.temporary);
      assert.match(err.message, /nothing deleted/);
      return true;
    });
    const next = await store.openMaildrop('alice');
    assert.deepEqual([await read(next, 0), await read(next, 1)], ['m1\n', 'm2\n']);
    await next.release();
  });

  it('releases the lock when the snapshot cannot be taken', async () => {
    await store.deliver('alice', Buffer.from('x\n'));
    await rm(dirOf('alice', 'cur'), { recursive: true });
    await writeFile(dirOf('alice', 'cur'), 'not a directory');
    await assert.rejects(store.openMaildrop('alice'), (err: unknown) => err instanceof StoreError && err.temporary);
    assert.ok(!(await readdir(dirOf('alice'))).includes('postel.lock'));
  });

  it('opens 20,000 messages from names alone, without reading bodies', async () => {
    const count = 20_000;
    const newDir = join(root, 'bulk', 'new');
    await mkdir(newDir, { recursive: true });
    await mkdir(join(root, 'bulk', 'cur'));
    await mkdir(join(root, 'bulk', 'tmp'));
    const body = 'Subject: bulk\n\nbody\n';
    const names: string[] = [];
    for (let i = 0; i < count; i++) {
      // Every 1000th name claims a wrong wire size: only a reader of names would report it.
      const w = i % 1000 === 0 ? 999_000 + i : wireSize(Buffer.from(body));
      names.push(`${1_600_000_000 + i}.M${i}P1Q1R00000000.bulk,S=${body.length},W=${w}`);
    }
    names.push('no-size-in-name');
    for (let i = 0; i < names.length; i += 500) {
      await Promise.all(names.slice(i, i + 500).map((n) => writeFile(join(newDir, n), body)));
    }
    let started = performance.now();
    let drop = await store.openMaildrop('bulk');
    const firstOpenMs = performance.now() - started;
    assert.equal(drop.messages.length, count + 1);
    // Index lines follow UID order, as the messages do: line k+1 names message k.
    const listed = (await indexLines('bulk')).slice(1).map((l) => l.split(' ').slice(5).join(' '));
    let wrongSizesReported = 0;
    for (const [k, name] of listed.entries()) {
      const claimed = /,W=(\d+)$/.exec(name ?? '')?.[1];
      const expected = claimed === undefined ? wireSize(Buffer.from(body)) : Number(claimed);
      assert.equal(drop.messages[k]?.size, expected, name);
      if (expected >= 999_000) wrongSizesReported++;
    }
    assert.equal(wrongSizesReported, count / 1000);
    const lastIndex = listed.indexOf('no-size-in-name');
    await drop.release();

    // Indexed now: changing a body behind our back must not change the listed size.
    await writeFile(join(newDir, 'no-size-in-name'), 'much longer content than before\n'.repeat(10));
    started = performance.now();
    drop = await store.openMaildrop('bulk');
    const secondOpenMs = performance.now() - started;
    assert.equal(drop.messages[lastIndex]?.size, wireSize(Buffer.from(body)));
    await drop.release();
    assert.ok(secondOpenMs < 5_000, `indexed open took ${secondOpenMs} ms`);
    process.stdout.write(`# 20,000 messages: first open ${firstOpenMs.toFixed(0)} ms, indexed open ${secondOpenMs.toFixed(0)} ms\n`);
  });
});

describe('MaildirStore options', () => {
  it('refuses lock timings under which a live session would look abandoned', () => {
    assert.throws(() => new MaildirStore({ root: '/nonexistent', lockStaleMs: 1000, lockRefreshMs: 1000 }), RangeError);
    assert.throws(() => new MaildirStore({ root: '/nonexistent', lockStaleMs: 0 }), RangeError);
    assert.throws(() => new MaildirStore({ root: '/nonexistent', lockRefreshMs: -1 }), RangeError);
    assert.doesNotThrow(() => new MaildirStore({ root: '/nonexistent', lockStaleMs: 5000 }));
  });
});
