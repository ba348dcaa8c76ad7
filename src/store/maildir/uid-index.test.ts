import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silentLogger } from '../../log/logger.js';
import { formatUidIndex, formatUidl, IndexFormatError, loadUidIndex, parseUidIndex, saveUidIndex, type UidIndex } from './uid-index.js';

const sample: UidIndex = {
  uidValidity: 1_700_000_000,
  nextUid: 8,
  entries: [
    { uid: 3, size: 120, retrievedAt: 0, basename: '1700000000.M1P2Q3R0a0b0c0d.h,S=118,W=120', asciiSize: null },
    { uid: 7, size: 5, retrievedAt: 1_700_000_500, basename: 'a name  with spaces ', asciiSize: 250 },
  ],
};

describe('UID index', () => {
  it('round-trips through its text form', () => {
    const text = formatUidIndex(sample);
    assert.equal(
      text,
      'postel-uidlist 3 1700000000 8\n3 120 0 - = 1700000000.M1P2Q3R0a0b0c0d.h,S=118,W=120\n7 5 1700000500 - 250 a name  with spaces \n',
    );
    assert.deepEqual(parseUidIndex(text), sample);
    assert.deepEqual(parseUidIndex('postel-uidlist 1 5 1\n'), { uidValidity: 5, nextUid: 1, entries: [] });
  });

  it('reads versions 1 and 2, whose entries do not know their ASCII size yet', () => {
    assert.deepEqual(parseUidIndex('postel-uidlist 1 5 9\n3 120 0 a b\n').entries, [{ uid: 3, size: 120, retrievedAt: 0, basename: 'a b' }]);
    assert.deepEqual(parseUidIndex('postel-uidlist 2 5 9\n3 120 0 Pu a b\n').entries, [{ uid: 3, size: 120, retrievedAt: 0, basename: 'a b', uidl: 'u' }]);
    assert.throws(() => formatUidIndex({ uidValidity: 5, nextUid: 9, entries: [{ uid: 3, size: 1, retrievedAt: 0, basename: 'a' }] }), RangeError);
  });

  it('writes the UIDL a message keeps from another server in its field', () => {
    const inherited: UidIndex = {
      uidValidity: 1700000000,
      nextUid: 9,
      entries: [
        { uid: 3, size: 12, retrievedAt: 0, basename: 'a b', uidl: '000000016553f100', asciiSize: null },
        { uid: 8, size: 5, retrievedAt: 7, basename: 'c', asciiSize: null },
      ],
    };
    const text = formatUidIndex(inherited);
    assert.equal(text, 'postel-uidlist 3 1700000000 9\n3 12 0 P000000016553f100 = a b\n8 5 7 - = c\n');
    assert.deepEqual(parseUidIndex(text), inherited);
  });

  it('rejects anything that could hand out a UID twice', () => {
    const bad = [
      '',
      'dovecot-uidlist 3 V1 N1\n',
      'postel-uidlist 4 5 9\n',
      'postel-uidlist 3 5 9\n1 1 0 - x a\n',
      'postel-uidlist 3 5 9\n1 1 0 - a\n',
      'postel-uidlist 1 0 9\n',
      'postel-uidlist 2 5 9\n1 1 0 a\n',
      'postel-uidlist 2 5 9\n1 1 0 X1 a\n',
      'postel-uidlist 2 5 9\n1 1 0 P a\n',
      'postel-uidlist 2 5 9\n1 1 0 Pu a\n2 1 0 Pu b\n',
      'postel-uidlist 1 5 x\n',
      'postel-uidlist 1 5 9\n3 1 0\n',
      'postel-uidlist 1 5 9\n3 1 0 a\n3 1 0 b\n',
      'postel-uidlist 1 5 9\n4 1 0 a\n3 1 0 b\n',
      'postel-uidlist 1 5 9\n9 1 0 a\n',
      'postel-uidlist 1 5 9\n1 1 0 a\n2 1 0 a\n',
      'postel-uidlist 1 5 9\n1 -1 0 a\n',
      'postel-uidlist 1 5 9\n1 1 0 a:2,S\n',
      'postel-uidlist 1 5 9\n\n',
    ];
    for (const text of bad) assert.throws(() => parseUidIndex(text), IndexFormatError, JSON.stringify(text));
  });

  it('formats UIDLs as 16 upper-case hex digits', () => {
    assert.equal(formatUidl(0x6553f100, 1), '6553F10000000001');
    assert.equal(formatUidl(1, 0xabc), '0000000100000ABC');
  });

  it('starts fresh, saves atomically and sets a broken index aside', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postel-index-'));
    try {
      const created = await loadUidIndex(dir, 'postel-uidlist', silentLogger());
      assert.equal(created.created, true);
      assert.equal(created.index.nextUid, 1);
      await saveUidIndex(dir, 'postel-uidlist', sample);
      assert.deepEqual(await readdir(dir), ['postel-uidlist']);
      assert.deepEqual((await loadUidIndex(dir, 'postel-uidlist', silentLogger())).index, sample);

      // Broken, but its header still names a validity in the future: the new one must exceed it.
      const future = Math.floor(Date.now() / 1000) + 1000;
      await writeFile(join(dir, 'postel-uidlist'), `postel-uidlist 1 ${future} 3\n1 zz`);
      const rebuilt = await loadUidIndex(dir, 'postel-uidlist', silentLogger());
      assert.equal(rebuilt.created, true);
      assert.equal(rebuilt.index.uidValidity, future + 1);
      const names = await readdir(dir);
      assert.equal(names.length, 1);
      assert.match(names[0] ?? '', /^postel-uidlist\.broken-\d+$/);
      assert.match(await readFile(join(dir, names[0] ?? ''), 'utf8'), /1 zz$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
