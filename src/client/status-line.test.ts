import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fields, parseCount, parseServerLine } from './status-line.js';

test('status lines, including lowercase and extra spaces', () => {
  assert.deepEqual(parseServerLine('+OK 2 320'), { kind: 'ok', text: '2 320' });
  assert.deepEqual(parseServerLine('+ok'), { kind: 'ok', text: '' });
  assert.deepEqual(parseServerLine('+OK   spaced  '), { kind: 'ok', text: 'spaced' });
  assert.deepEqual(parseServerLine('-ERR [IN-USE] busy'), { kind: 'err', code: 'IN-USE', text: 'busy' });
  assert.deepEqual(parseServerLine('-err  [sys/temp]  later'), { kind: 'err', code: 'SYS/TEMP', text: 'later' });
  assert.deepEqual(parseServerLine('-ERR no code'), { kind: 'err', code: undefined, text: 'no code' });
  assert.deepEqual(parseServerLine('-ERR'), { kind: 'err', code: undefined, text: '' });
  assert.deepEqual(parseServerLine('+ dGVzdA=='), { kind: 'continue', data: 'dGVzdA==' });
  assert.deepEqual(parseServerLine('+'), { kind: 'continue', data: '' });
  assert.deepEqual(parseServerLine('+OKAY'), { kind: 'other', line: '+OKAY' });
  assert.deepEqual(parseServerLine('* OK imap'), { kind: 'other', line: '* OK imap' });
});

test('bytes beyond ASCII survive (latin1)', () => {
  const line = parseServerLine(Buffer.from([0x2b, 0x4f, 0x4b, 0x20, 0xe9]));
  assert.deepEqual(line, { kind: 'ok', text: '\u00e9' });
});

test('fields and counts', () => {
  assert.deepEqual(fields('  1 \t 200  '), ['1', '200']);
  assert.equal(parseCount('0'), 0);
  assert.equal(parseCount('-1'), undefined);
  assert.equal(parseCount('1e3'), undefined);
  assert.equal(parseCount('9'.repeat(16)), undefined);
});
