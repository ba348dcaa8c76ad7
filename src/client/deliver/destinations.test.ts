import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { MaildirDestination } from './maildir.js';
import { MboxDestination, asctime } from './mbox.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postel-destinations-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const meta = { account: 'a', uid: 'u1', size: 10 };

test('asctime', () => {
  assert.equal(asctime(new Date('2024-11-07T05:01:22Z')), 'Thu Nov  7 05:01:22 2024');
  assert.equal(asctime(new Date('2030-01-31T23:59:59Z')), 'Thu Jan 31 23:59:59 2030');
});

test('Maildir: recovery finds a message by its name in new/ or cur/ (with flags), and clears tmp/', async () => {
  const root = join(dir, 'Maildir');
  const dest = new MaildirDestination(root);
  const delivery = await dest.begin(meta);
  await delivery.write(Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]));
  assert.equal(await dest.recover(delivery.token), 'delivered');
  const [name] = await readdir(join(root, 'new'));
  assert.match(name ?? '', /,S=17$/, 'S= is the stored size (LF line ends)');
  assert.equal(await readFile(join(root, 'new', name as string), 'utf8'), 'Subject: x\n\nbody\n');
  await rename(join(root, 'new', name as string), join(root, 'cur', `${name}:2,S`));
  assert.equal(await dest.recover(delivery.token), 'delivered', 'a mail reader moved it');

  const interrupted = await dest.begin(meta);
  const unique = (interrupted.token as { maildir: string }).maildir;
  await writeFile(join(root, 'tmp', unique), 'half');
  assert.equal(await dest.recover(interrupted.token), 'not-delivered');
  assert.deepEqual(await readdir(join(root, 'tmp')), []);
  assert.equal(await dest.recover({ maildir: '../etc' }), 'unknown');
});

test('Maildir: a failing source leaves nothing behind', async () => {
  const root = join(dir, 'Maildir2');
  const dest = new MaildirDestination(root);
  const delivery = await dest.begin(meta);
  const failing = new Readable({
    read() {
      this.push(Buffer.from('partial'));
      this.destroy(new Error('connection lost'));
    },
  });
  await assert.rejects(delivery.write(failing), /connection lost/);
  for (const sub of ['tmp', 'new', 'cur']) assert.deepEqual(await readdir(join(root, sub)), []);
});

test("mbox: a failed append is cut off; recovery cuts only a tail it can prove it appended (its spooled copy), never another writer's mail", async () => {
  const path = join(dir, 'inbox');
  const dest = new MboxDestination(path, () => new Date('2030-01-01T00:00:00Z'));
  const first = await dest.begin(meta);
  await first.write(Readable.from([Buffer.from('Return-Path: <a@b>\r\nSubject: 1\r\n\r\nFrom here\r\n')]));
  const good = await readFile(path, 'utf8');
  assert.equal(good, 'From a@b Tue Jan  1 00:00:00 2030\nReturn-Path: <a@b>\nSubject: 1\n\n>From here\n\n');

  const failed = await dest.begin(meta);
  await assert.rejects(failed.write(Readable.from((async function* () {
    yield Buffer.from('Subject: 2\r\n\r\npartial');
    throw new Error('connection lost');
  })())));
  assert.equal(await readFile(path, 'utf8'), good, 'the partial append is gone');

  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.inbox.postel-')), [], 'no spool file is left behind');

  // After a crash: the span a delivery spooled before appending proves what is ours.
  const span = 'From MAILER-DAEMON Tue Jan  1 00:00:00 2030\nSubject: 3\n\nhalf of it\n\n';
  const spool = '.inbox.postel-0123456789abcdef';
  const token = { mbox: Buffer.byteLength(good), spool };
  const crashed = async (mbox: string, spooled: string | undefined): Promise<void> => {
    await writeFile(path, mbox);
    if (spooled !== undefined) await writeFile(join(dir, spool), spooled);
  };
  // Killed half-way through the append: our partial tail is cut.
  await crashed(`${good}${span.slice(0, 30)}`, span);
  assert.equal(await dest.recover(token), 'not-delivered');
  assert.equal(await readFile(path, 'utf8'), good);
  // Killed after the append, before the spool file was removed: delivered, kept.
  await crashed(`${good}${span}`, span);
  assert.equal(await dest.recover(token), 'delivered');
  assert.equal(await readFile(path, 'utf8'), `${good}${span}`);
  // Killed after removing it: the append had completed.
  await crashed(`${good}${span}`, undefined);
  assert.equal(await dest.recover(token), 'delivered');
  // A tail we cannot prove is ours (another program appended after our partial append,
  // or wrote there instead): everything stays.
  for (const tail of [`${span.slice(0, 30)}From other Tue Jan  1 00:00:00 2030\nSubject: theirs\n\n${'x'.repeat(60)}\n`, 'From other Tue Jan  1 00:00:00 2030\n\n']) {
    await crashed(`${good}${tail}`, span);
    assert.equal(await dest.recover(token), 'unknown');
    assert.equal(await readFile(path, 'utf8'), `${good}${tail}`);
  }
  // An older token without a spool file proves nothing.
  assert.equal(await dest.recover({ mbox: Buffer.byteLength(good) }), 'unknown');
  assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.inbox.postel-')), []);
});

test('mbox: a file not ending in an empty line gets one before the next message', async () => {
  const path = join(dir, 'ragged');
  await writeFile(path, 'From x Tue Jan  1 00:00:00 2030\nSubject: old\n\nno blank line after');
  const dest = new MboxDestination(path, () => new Date('2030-01-01T00:00:00Z'));
  const delivery = await dest.begin(meta);
  await delivery.write(Readable.from([Buffer.from('Subject: new\r\n\r\nbody\r\n')]));
  assert.equal(await readFile(path, 'utf8'), 'From x Tue Jan  1 00:00:00 2030\nSubject: old\n\nno blank line after\n\nFrom MAILER-DAEMON Tue Jan  1 00:00:00 2030\nSubject: new\n\nbody\n\n');
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.lock')), [], 'the dot-lock is released');
});
