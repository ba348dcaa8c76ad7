import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { wireSize } from '../../message/wire-size.js';
import type { Maildrop } from '../types.js';
import { parseDovecotUidlist } from './dovecot-uidlist.js';
import { MaildirStore } from './maildir-store.js';
import { formatUidl } from './uid-index.js';

let root: string;
const dir = (sub = ''): string => join(root, 'alice', sub);

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'postel-inherit-'));
  for (const sub of ['new', 'cur', 'tmp']) await mkdir(dir(sub), { recursive: true });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function uidls(store: MaildirStore): Promise<string[]> {
  const drop = await store.openMaildrop('alice');
  try {
    return drop.messages.map((m) => m.uid);
  } finally {
    await drop.release();
  }
}

async function readAll(drop: Maildrop, i: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await drop.openMessage(i)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('UIDLs inherited from Dovecot and Courier', () => {
  it("shows Dovecot's UIDL: the P field where saved (empty P: the base name), else pop3_uidl_format; in Dovecot's order; and keeps them", async () => {
    const names = ['1700000003.M1P1.h', '1700000001.M1P1.h', '1700000002.M1P1.h', '1700000004.M1P1.h'];
    for (const n of names) await writeFile(dir(`cur/${n}:2,S`), `Subject: ${n}\n\nbody\n`);
    await writeFile(
      dir('dovecot-uidlist'),
      `3 V1600000000 N20 Gabcdefabcdefabcdefabcdefabcdefab\n5 :${names[0]}\n6 P :${names[1]}\n9 Pfrom-migration-1 :${names[2]}\n`,
    );
    const store = new MaildirStore({ root });
    const expected = ['000000055f5e1000', names[1], 'from-migration-1'];
    const first = await uidls(store);
    assert.deepEqual(first.slice(0, 3), expected, 'Dovecot order (its UIDs 5, 6, 9), its UIDLs');
    assert.match(first[3] ?? '', /^[0-9A-F]{16}$/, 'a message Dovecot never listed gets a postel UIDL');
    assert.match(await readFile(dir('postel-uidlist'), 'utf8'), /^postel-uidlist 3 /);
    // Kept from then on: Dovecot's file can go, a new store (no cache) shows the same.
    await unlink(dir('dovecot-uidlist'));
    assert.deepEqual(await uidls(new MaildirStore({ root })), first);
  });

  it('uses a configured pop3_uidl_format, and none at all when turned off', async () => {
    await writeFile(dir('new/1700000001.M1P1.h'), 'a\n');
    await writeFile(dir('dovecot-uidlist'), '3 V1600000000 N8 G00000000000000000000000000000000\n7 :1700000001.M1P1.h\n');
    assert.deepEqual(await uidls(new MaildirStore({ root, dovecotUidlFormat: '%v-%u' })), ['1600000000-7']);
    await rm(dir('postel-uidlist'));
    const own = await uidls(new MaildirStore({ root, dovecotUidlFormat: null }));
    assert.match(own[0] ?? '', /^[0-9A-F]{16}$/);
  });

  it("shows Courier's UID<n>-<validity> from courierpop3dsizelist, Dovecot winning where both list a file", async () => {
    for (const n of ['1100000001.M1P1.h', '1100000002.M1P1.h']) await writeFile(dir(`cur/${n}:2,S`), 'x\n');
    await writeFile(dir('courierpop3dsizelist'), '/3 9 1100000000\n1100000001.M1P1.h:2,S 3 7:1100000000:0\n1100000002.M1P1.h:2,S 3 8:1100000000:0\n');
    await writeFile(dir('dovecot-uidlist'), '1 1200000000 5\n4 1100000002.M1P1.h\n');
    assert.deepEqual(await uidls(new MaildirStore({ root })), ['0000000447868c00', 'UID7-1100000000']);
  });

  it('never shows a UIDL twice, nor one postel may have shown before; skips UIDs its own shape claims', async () => {
    await writeFile(dir('new/1700000001.M1P1.h'), 'a\n');
    const store = new MaildirStore({ root, snapshotCacheMessages: 0 });
    const [existing] = await uidls(store);
    const validity = (await readFile(dir('postel-uidlist'), 'utf8')).split(' ')[2] as string;
    const ahead = formatUidl(Number(validity), 40);
    for (const n of ['1700000002', '1700000003', '1700000004', '1700000005']) await writeFile(dir(`new/${n}.M1P1.h`), 'b\n');
    await writeFile(
      dir('dovecot-uidlist'),
      `3 V1 N20\n1 P${existing} :1700000002.M1P1.h\n2 Pdup :1700000003.M1P1.h\n3 Pdup :1700000004.M1P1.h\n4 P${ahead} :1700000005.M1P1.h\n`,
    );
    const all = await uidls(store);
    assert.equal(new Set(all).size, all.length, all.join(' '));
    assert.equal(all[0], existing);
    assert.notEqual(all[1], existing, 'a UIDL already shown is not taken');
    assert.equal(all[2], 'dup');
    assert.notEqual(all[3], 'dup');
    assert.equal(all[4], ahead, "postel's own shape ahead of the counter is kept…");
    await writeFile(dir('new/1700000009.M1P1.h'), 'c\n');
    const later = await uidls(store);
    assert.equal(later[5], formatUidl(Number(validity), 41), '…and the counter moved past it');
  });

  it("counts the CRLF RETR adds to an unterminated last line even when Dovecot's W= does not", async () => {
    const unterminated = Buffer.from('Subject: open\n\nno end');
    const terminated = Buffer.from('Subject: closed\n\nend\n');
    // Dovecot's W= is the size with CRLF line ends, the last line as stored.
    await writeFile(dir(`new/1700000001.M1P1.h,S=${unterminated.length},W=${unterminated.length + 2}`), unterminated);
    await writeFile(dir(`new/1700000002.M1P1.h,S=${terminated.length},W=${terminated.length + 3}`), terminated);
    const drop = await new MaildirStore({ root }).openMaildrop('alice');
    try {
      assert.deepEqual(drop.messages.map((m) => m.size), [wireSize(unterminated), wireSize(terminated)]);
      assert.equal(wireSize(unterminated), unterminated.length + 2 + 2);
      assert.deepEqual(await readAll(drop, 0), unterminated);
    } finally {
      await drop.release();
    }
  });

  it('exports a dovecot-uidlist with every UIDL in P, keeping the mailbox GUID', async () => {
    await writeFile(dir('new/1700000001.M1P1.h'), 'a\n');
    await writeFile(dir('new/1700000002.M1P1.h'), 'b\n');
    await writeFile(dir('dovecot-uidlist'), '3 V1600000000 N8 G0123456789abcdef0123456789abcdef\n7 Pkept :1700000001.M1P1.h\n');
    const store = new MaildirStore({ root });
    const shown = await uidls(store);
    const result = await store.exportDovecotUidlist('alice');
    assert.equal(result.messages, 2);
    const list = parseDovecotUidlist(await readFile(result.path, 'utf8'));
    assert.equal(list.guid, '0123456789abcdef0123456789abcdef');
    assert.deepEqual(list.records.map((r) => r.fields.get('P')), shown);
    assert.deepEqual(list.records.map((r) => r.basename), ['1700000001.M1P1.h', '1700000002.M1P1.h']);
    assert.deepEqual(await uidls(new MaildirStore({ root })), shown, 'exporting changes nothing postel shows');
  });
});
