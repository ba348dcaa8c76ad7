import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCommand, parseCount, parseMessageNumber } from './parser.js';

describe('parseCommand', () => {
  const ok = (line: string) => {
    const r = parseCommand(Buffer.from(line, 'latin1'));
    assert.ok(r.ok, `expected ${JSON.stringify(line)} to parse`);
    return r.command;
  };
  it('upper-cases keywords (RFC 1939: case-insensitive)', () => {
    assert.deepEqual(ok('retr 1'), { verb: 'RETR', msg: 1 });
    assert.equal(ok('Stat').verb, 'STAT');
  });
  it('keeps the unsplit rest for PASS, whose password may hold spaces', () => {
    assert.deepEqual(ok('PASS  two  spaces '), { verb: 'PASS', password: ' two  spaces ' });
    assert.deepEqual(ok('PASS'), { verb: 'PASS', password: '' });
  });
  it('tolerates runs of spaces between arguments', () => {
    assert.deepEqual(ok('TOP  1   10'), { verb: 'TOP', msg: 1, lines: 10 });
  });
  it('parses each verb\'s arguments into typed fields', () => {
    assert.deepEqual(ok('USER alice'), { verb: 'USER', name: 'alice' });
    assert.deepEqual(ok('APOP bob C4C9334BAC560ECC979E58001B3E22FB'), { verb: 'APOP', name: 'bob', digest: 'c4c9334bac560ecc979e58001b3e22fb' });
    assert.deepEqual(ok('LIST'), { verb: 'LIST' });
    assert.deepEqual(ok('UIDL 7'), { verb: 'UIDL', msg: 7 });
    assert.deepEqual(ok('DELE 2'), { verb: 'DELE', msg: 2 });
    assert.deepEqual(ok('auth plain'), { verb: 'AUTH', mechanism: 'PLAIN' });
    assert.deepEqual(ok('AUTH'), { verb: 'AUTH' });
    assert.deepEqual(ok('AUTH PLAIN ='), { verb: 'AUTH', mechanism: 'PLAIN', initial: Buffer.alloc(0) });
    assert.deepEqual(ok('AUTH PLAIN AGEAYg=='), { verb: 'AUTH', mechanism: 'PLAIN', initial: Buffer.from('\0a\0b') });
    // Not base64: refused by the handler once the mechanism is known to be usable.
    assert.deepEqual(ok('AUTH PLAIN ***'), { verb: 'AUTH', mechanism: 'PLAIN', initial: null });
    // Not a count: refused by the handler once the message number is known to name a message.
    assert.deepEqual(ok('TOP 1 x'), { verb: 'TOP', msg: 1, lines: null });
    assert.deepEqual(ok('CAPA ignored'), { verb: 'CAPA' });
  });
  const refused = (line: string) => {
    const r = parseCommand(Buffer.from(line, 'latin1'));
    assert.ok(!r.ok, `expected ${JSON.stringify(line)} to be refused`);
    return r;
  };
  it('names the verb of a command whose arguments are wrong, so the state is checked first', () => {
    assert.deepEqual(refused('RETR x'), { ok: false, verb: 'RETR', error: 'Invalid message number' });
    assert.deepEqual(refused('RETR 0'), { ok: false, verb: 'RETR', error: 'Invalid message number' });
    assert.deepEqual(refused('RETR'), { ok: false, verb: 'RETR', error: 'Missing argument' });
    assert.deepEqual(refused('DELE 1 2'), { ok: false, verb: 'DELE', error: 'Too many arguments' });
    assert.deepEqual(refused('STAT 1'), { ok: false, verb: 'STAT', error: 'Too many arguments' });
    assert.deepEqual(refused('USER'), { ok: false, verb: 'USER', error: 'Missing argument' });
    assert.deepEqual(refused('APOP bob xyz'), { ok: false, verb: 'APOP', error: 'Invalid digest' });
    assert.deepEqual(refused('AUTH A B C'), { ok: false, verb: 'AUTH', error: 'Too many arguments' });
    assert.deepEqual(refused('TOP 1'), { ok: false, verb: 'TOP', error: 'Missing argument' });
  });
  it('names an unknown but well-formed keyword', () => {
    assert.deepEqual(refused('xtnd 1'), { ok: false, verb: 'XTND', error: 'Unknown command' });
  });
  for (const bad of ['', ' STAT', 'ST@T', 'RETR\t1', 'US\x00ER a', 'RETR \xff', 'ABCDEFGHIJ']) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.equal(parseCommand(Buffer.from(bad, 'latin1')).ok, false);
    });
  }
});

describe('message numbers and counts', () => {
  it('accept plain positive decimals only', () => {
    assert.equal(parseMessageNumber('1'), 1);
    assert.equal(parseMessageNumber('007'), 7);
    for (const bad of [undefined, '', '0', '-1', '+1', '1.0', '0x1', '99999999999', ' 1']) assert.equal(parseMessageNumber(bad), undefined, String(bad));
  });
  it('TOP line counts may be zero', () => {
    assert.equal(parseCount('0'), 0);
    assert.equal(parseCount('-1'), undefined);
  });
});

describe('RFC 6856 commands and UTF-8 arguments', () => {
  const parse = (line: string | Buffer) => parseCommand(typeof line === 'string' ? Buffer.from(line, 'utf8') : line);

  it('parses UTF8 and LANG with an RFC 4647 language range', () => {
    assert.deepEqual(parse('utf8'), { ok: true, command: { verb: 'UTF8' } });
    assert.deepEqual(parse('UTF8 x'), { ok: false, verb: 'UTF8', error: 'Too many arguments' });
    assert.deepEqual(parse('LANG'), { ok: true, command: { verb: 'LANG' } });
    assert.deepEqual(parse('LANG De-CH'), { ok: true, command: { verb: 'LANG', range: 'de-ch' } });
    assert.deepEqual(parse('LANG *'), { ok: true, command: { verb: 'LANG', range: '*' } });
    for (const bad of ['LANG en_US', 'LANG toolonglanguage', 'LANG -de', 'LANG de-']) {
      assert.deepEqual(parse(bad), { ok: false, verb: 'LANG', error: 'Invalid language range' }, bad);
    }
  });

  it('takes UTF-8 only in USER and PASS arguments; refuses it elsewhere, broken UTF-8 and C1 controls', () => {
    assert.deepEqual(parse('USER jos\u00e9'), { ok: true, command: { verb: 'USER', name: 'jos\u00e9' } });
    assert.deepEqual(parse('PASS p\u00e4ss w\u00f6rd'), { ok: true, command: { verb: 'PASS', password: 'p\u00e4ss w\u00f6rd' } });
    assert.deepEqual(parse('APOP jos\u00e9 0123456789abcdef0123456789abcdef'), { ok: false, verb: 'APOP', error: 'Invalid characters in command' });
    assert.deepEqual(parse(Buffer.from([0x55, 0x53, 0x45, 0x52, 0x20, 0xc3, 0x28])), { ok: false, error: 'Invalid characters in command' });
    assert.deepEqual(parse('USER a\u0085'), { ok: false, error: 'Invalid characters in command' });
    assert.deepEqual(parse('USER a\u007f'), { ok: false, error: 'Invalid characters in command' });
  });
});
