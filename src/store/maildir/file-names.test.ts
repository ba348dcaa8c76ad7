import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  basenameOf,
  compareFileNames,
  deliveryTimeFromName,
  escapeHostname,
  makeUniqueName,
  nameWithFlag,
  parseFileName,
  storedFileName,
  storedSizeFromName,
  virtualSizeFromName,
  wireSizeFromName,
} from './file-names.js';
import { isValidUserName } from './user-name.js';

describe('Maildir file names', () => {
  it('makes unique Dovecot-style names', () => {
    const names = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const name = makeUniqueName('host.example');
      assert.equal(wireSizeFromName(storedFileName(name, 1, 2)), 2, 'postel trusts its own W=');
      assert.match(name, new RegExp(`^\\d{10}\\.M\\d{1,6}P${process.pid}Q\\d+R[0-9a-f]{8}\\.host\\.example$`));
      names.add(name);
    }
    assert.equal(names.size, 1000);
  });

  it('escapes characters that have a meaning in Maildir names', () => {
    assert.equal(escapeHostname('mx/1:2,3.example'), 'mx\\0571\\0722\\0543.example');
    assert.equal(escapeHostname('plain.example'), 'plain.example');
  });

  it('splits base name and flags', () => {
    assert.deepEqual(parseFileName('123.M4P5.h,S=10,W=12:2,FS'), { basename: '123.M4P5.h,S=10,W=12', flags: 'FS' });
    assert.deepEqual(parseFileName('123.M4P5.h'), { basename: '123.M4P5.h', flags: '' });
    assert.deepEqual(parseFileName('x:1,experimental'), { basename: 'x', flags: '' });
    assert.equal(basenameOf('x y:2,S'), 'x y');
  });

  it('reads W= from a name and only a well-formed one', () => {
    assert.equal(wireSizeFromName(storedFileName('1.M2P3Q4R00000000.h', 10, 12)), 12);
    assert.equal(virtualSizeFromName('1.M2P3.h,W=7,S=6'), 7);
    assert.equal(virtualSizeFromName('1.M2P3.h,S=6'), undefined);
    assert.equal(virtualSizeFromName('1.M2P3.h,W=x'), undefined);
    assert.equal(virtualSizeFromName('W=5'), undefined);
    assert.equal(virtualSizeFromName('1234.V801I5M123.host'), undefined);
  });

  it("takes W= as the wire size only from postel's own names: Dovecot's W= omits the CRLF RETR adds to an unterminated last line", () => {
    assert.equal(wireSizeFromName('1700000000.M1P1Q1Rdeadbeef.h,S=10,W=12'), 12);
    assert.equal(wireSizeFromName('1700000000.M1P1.h,S=10,W=12'), undefined);
    assert.equal(virtualSizeFromName('1700000000.M1P1.h,S=10,W=12'), 12);
    assert.equal(wireSizeFromName('1700000000.M1P1Q1Rnothex00.h,S=10,W=12'), undefined);
  });

  it('adds a flag keeping flags unique and in ASCII order', () => {
    assert.equal(nameWithFlag('b', '', 'S'), 'b:2,S');
    assert.equal(nameWithFlag('b', 'RF', 'S'), 'b:2,FRS');
    assert.equal(nameWithFlag('b', 'Sa', 'S'), 'b:2,Sa');
    assert.equal(nameWithFlag('b', 'Tb', 'S'), 'b:2,STb');
  });

  it('orders names with numbers by value', () => {
    const sorted = ['1700000000.M10P1Q2', '1700000000.M9P1Q3', '1700000001.M0P1Q1', '1700000000.M9P1Q10', 'abc', '1700000000.M9P1Q9']
      .sort(compareFileNames);
    assert.deepEqual(sorted, ['1700000000.M9P1Q3', '1700000000.M9P1Q9', '1700000000.M9P1Q10', '1700000000.M10P1Q2', '1700000001.M0P1Q1', 'abc']);
    assert.equal(compareFileNames('a007', 'a7'), 0);
    assert.ok(compareFileNames('a7', 'a7b') < 0);
  });

  it('reads the delivery time of Dovecot, Postfix and postel names, and the sizes', () => {
    assert.equal(deliveryTimeFromName('1700000000.M123P45.host,S=10,W=12'), 1_700_000_000_000_123);
    assert.equal(deliveryTimeFromName('1700000000.V801I5M123.postfix-host'), 1_700_000_000_000_123);
    assert.equal(deliveryTimeFromName('1700000000.P45Q2.host'), 1_700_000_000_000_000);
    assert.equal(deliveryTimeFromName('1700000000.M1234567P1.host'), 1_700_000_000_000_000, 'not a microsecond count');
    for (const other of ['no-time', 'a name with spaces', '1700000000', '.1700000000.M1.x']) assert.equal(deliveryTimeFromName(other), undefined, other);
    assert.equal(storedSizeFromName('1700000000.M1P1.h,S=10,W=12'), 10);
    assert.equal(virtualSizeFromName('1700000000.M1P1.h,S=10,W=12'), 12);
    assert.equal(storedSizeFromName('1700000000.M1P1.h,W=12'), undefined);
    assert.equal(storedSizeFromName('1700000000.M1P1.h,S=x'), undefined);
  });
});

describe('user names', () => {
  it('accepts ordinary names and refuses path tricks', () => {
    for (const ok of ['alice', 'user@example.org', 'a.b', 'with space', 'ünïcode']) assert.ok(isValidUserName(ok), ok);
    for (const bad of ['', '.', '..', '.x', 'a..b', 'a/b', '/a', 'a\\b', 'a\0', 'a\rb', 'a\x7f']) assert.ok(!isValidUserName(bad), bad);
  });
});
