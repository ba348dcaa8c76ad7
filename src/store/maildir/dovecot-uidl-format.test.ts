import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileUidlFormat, DEFAULT_DOVECOT_UIDL_FORMAT, UidlFormatError } from './dovecot-uidl-format.js';

const vars = { uid: 42, uidValidity: 1_700_000_000, basename: '1700000000.M1P2.host,S=10,W=12' };

describe("Dovecot's pop3_uidl_format", () => {
  it('expands the default %08Xu%08Xv to UID and UIDVALIDITY in lower-case hex, as Dovecot 2.3 prints them', () => {
    assert.equal(compileUidlFormat(DEFAULT_DOVECOT_UIDL_FORMAT)(vars), '0000002a6553f100');
    assert.equal(compileUidlFormat('%08Xu%08Xv')({ ...vars, uid: 0xffffffff - 1 }), 'fffffffe6553f100');
  });

  it('expands the other variables Dovecot offers for Maildir, short and long', () => {
    assert.equal(compileUidlFormat('%v.%u')(vars), '1700000000.42');
    assert.equal(compileUidlFormat('%{uidvalidity}-%{uid}')(vars), '1700000000-42');
    assert.equal(compileUidlFormat('%f')(vars), vars.basename);
    assert.equal(compileUidlFormat('%{filename}')(vars), vars.basename);
    assert.equal(compileUidlFormat('%g')(vars), vars.basename, 'a Maildir GUID defaults to the base name');
    assert.equal(compileUidlFormat('%g')({ ...vars, guid: 'abc' }), 'abc');
    assert.equal(compileUidlFormat('100%%-%u')(vars), '100%-42');
  });

  it('applies widths, offsets and modifiers like var_expand', () => {
    assert.equal(compileUidlFormat('%.8f')(vars), '17000000', 'width cuts');
    assert.equal(compileUidlFormat('%3.4f')(vars), '0000', 'offset then width');
    assert.equal(compileUidlFormat('%-6.3f')(vars), '0,W', 'a negative offset counts from the end');
    assert.equal(compileUidlFormat('%06u')(vars), '000042');
    assert.equal(compileUidlFormat('%Uf')(vars), vars.basename.toUpperCase());
    assert.equal(compileUidlFormat('%ULf')(vars), vars.basename.toLowerCase(), 'modifiers apply in order');
    assert.equal(compileUidlFormat('%Ru')(vars), '24');
    assert.equal(compileUidlFormat('%Mu')(vars), 'a1d0c6e83f027327d8461063f4ac58a6');
    assert.equal(compileUidlFormat('%XUu')(vars), '2A');
  });

  it('refuses what it cannot reproduce: %m (mbox only), unknown variables, a format without variables', () => {
    assert.throws(() => compileUidlFormat('%m'), (e: unknown) => e instanceof UidlFormatError && /mbox/.test(e.message));
    assert.throws(() => compileUidlFormat('%08Xq'), UidlFormatError);
    assert.throws(() => compileUidlFormat('%{md5}'), UidlFormatError);
    assert.throws(() => compileUidlFormat('static'), UidlFormatError);
    assert.throws(() => compileUidlFormat('%08X'), UidlFormatError);
  });
});
