import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCourierPop3List } from './courier-pop3-list.js';
import { DovecotUidlistError, formatDovecotUidlist, parseDovecotUidlist } from './dovecot-uidlist.js';

describe('dovecot-uidlist', () => {
  it('reads a version 3 file with extension fields, the empty P and names with flags', () => {
    const list = parseDovecotUidlist(
      '3 V1275660208 N25022 G3085f01b7f11094c501100008c4a11c1\n' +
        '1 :1275660208.M1P2.host,S=10,W=12\n' +
        '7 P GXYZ W1234 :1275660209.M1P2.host\n' +
        '9 Pmigrated-uidl O3 :1275660210.M1P2.host:2,S\n',
    );
    assert.equal(list.uidValidity, 1275660208);
    assert.equal(list.nextUid, 25022);
    assert.equal(list.guid, '3085f01b7f11094c501100008c4a11c1');
    assert.deepEqual(
      list.records.map((r) => [r.uid, Object.fromEntries(r.fields), r.basename]),
      [
        [1, {}, '1275660208.M1P2.host,S=10,W=12'],
        [7, { P: '', G: 'XYZ', W: '1234' }, '1275660209.M1P2.host'],
        [9, { P: 'migrated-uidl', O: '3' }, '1275660210.M1P2.host'],
      ],
    );
  });

  it('reads version 1 (Dovecot 1.0, Courier courierimapuiddb)', () => {
    const list = parseDovecotUidlist('1 1100000000 4\n1 a.b.c\n3 d.e.f:2,S\n');
    assert.deepEqual([list.uidValidity, list.nextUid, list.records.map((r) => [r.uid, r.basename])], [1100000000, 4, [[1, 'a.b.c'], [3, 'd.e.f']]]);
  });

  it('refuses broken files rather than guessing', () => {
    for (const bad of ['', '2 1 2\n', '3 N5\n', '3 V0 N5\n', '3 V1 N5\n2 :a\n1 :b\n', '3 V1 N5\nx :a\n', '3 V1 N5\n1 :a/b\n', '3 V1 N5\n1 :\n']) {
      assert.throws(() => parseDovecotUidlist(bad), DovecotUidlistError, JSON.stringify(bad));
    }
  });

  it('writes a version 3 file Dovecot parses, with every UIDL in P, and reads it back', () => {
    const text = formatDovecotUidlist(1700000000, 10, [
      { uid: 3, uidl: '000000036553f100', basename: '1.M1P1.h,S=1,W=2' },
      { uid: 7, uidl: 'UID5-1100000000', basename: 'x y' },
    ], '0123456789abcdef0123456789abcdef');
    assert.equal(text, '3 V1700000000 N10 G0123456789abcdef0123456789abcdef\n3 P000000036553f100 :1.M1P1.h,S=1,W=2\n7 PUID5-1100000000 :x y\n');
    const back = parseDovecotUidlist(text);
    assert.deepEqual(back.records.map((r) => [r.uid, r.fields.get('P'), r.basename]), [[3, '000000036553f100', '1.M1P1.h,S=1,W=2'], [7, 'UID5-1100000000', 'x y']]);
    assert.throws(() => formatDovecotUidlist(1, 5, [{ uid: 5, uidl: 'a', basename: 'b' }]), RangeError, 'UID at next UID');
    assert.throws(() => formatDovecotUidlist(1, 5, [{ uid: 1, uidl: 'a b', basename: 'b' }]), RangeError, 'space in a UIDL');
  });
});

describe('courierpop3dsizelist', () => {
  it('reads versions 2 and 3 and gives the UIDLs Courier shows', () => {
    const records = parseCourierPop3List('/3 8 1100000000\n1100000001.M1P1.h:2,S 120 5:1100000000:0\nname with spaces 7 6:0:1\n1100000002.x 99 7:1100000000\n');
    assert.deepEqual(records, [
      { basename: '1100000001.M1P1.h', uidl: 'UID5-1100000000', uid: 5 },
      { basename: 'name with spaces', uidl: 'UID6', uid: 6 },
      { basename: '1100000002.x', uidl: 'UID7-1100000000', uid: 7 },
    ]);
    assert.deepEqual(parseCourierPop3List('/2 3 1\na 1 2:1\n'), [{ basename: 'a', uidl: 'UID2-1', uid: 2 }]);
  });

  it('refuses old or broken headers and skips lines Courier would skip', () => {
    assert.throws(() => parseCourierPop3List('/1 3 1\n'));
    assert.throws(() => parseCourierPop3List('garbage\n'));
    assert.deepEqual(parseCourierPop3List('/3 3 1\nbroken line\na 1 0:1\n'), []);
  });
});
