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
    assert.deepEqual(ok('retr 1'), { verb: 'RETR', args: ['1'], rest: '1' });
    assert.equal(ok('Stat').verb, 'STAT');
  });
  it('keeps the unsplit rest for PASS, whose password may hold spaces', () => {
    assert.equal(ok('PASS  two  spaces ').rest, ' two  spaces ');
  });
  it('tolerates runs of spaces between arguments', () => {
    assert.deepEqual(ok('TOP  1   10').args, ['1', '10']);
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
