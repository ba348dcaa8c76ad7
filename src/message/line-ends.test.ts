import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrlfToLf } from './line-ends.js';

function convert(chunks: string[]): string {
  const c = new CrlfToLf();
  const out = chunks.map((s) => c.push(Buffer.from(s, 'latin1')).toString('latin1'));
  return out.join('') + c.end().toString('latin1');
}

describe('CrlfToLf', () => {
  it('turns CRLF into LF and keeps bare CR and LF', () => {
    assert.equal(convert(['a\r\nb\nc\rd\r\r\n\r']), 'a\nb\nc\rd\r\n\r');
    assert.equal(convert(['']), '');
    assert.equal(convert(['\r\n\r\n']), '\n\n');
  });

  it('gives the same result however the input is split', () => {
    const input = 'H: v\r\n\r\n.\r\nx\ry\r\r\nz\n\r\r\n\r';
    const whole = convert([input]);
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) {
        assert.equal(convert([input.slice(0, i), input.slice(i, j), input.slice(j)]), whole, `split at ${i},${j}`);
      }
    }
    assert.equal(convert(input.split('')), whole);
  });

  it('holds a trailing CR through empty chunks', () => {
    assert.equal(convert(['a\r', '', '', '\nb']), 'a\nb');
    assert.equal(convert(['a\r', '', 'b']), 'a\rb');
  });
});
