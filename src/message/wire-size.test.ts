import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WireSizeCounter, wireSize } from './wire-size.js';

describe('wireSize counts octets with CRLF line ends and a terminated last line', () => {
  const cases: [string, number][] = [
    ['', 0],
    ['a\n', 3],
    ['a\r\n', 3],
    ['a', 3],
    ['a\nb', 6],
    ['\n\n', 4],
    ['a\r', 4],
    ['a\r\r\n', 4],
  ];
  for (const [text, size] of cases) {
    it(`${JSON.stringify(text)} is ${size} octets, whole and byte by byte`, () => {
      assert.equal(wireSize(Buffer.from(text, 'latin1')), size);
      const counter = new WireSizeCounter();
      for (const byte of Buffer.from(text, 'latin1')) counter.push(Buffer.of(byte));
      assert.equal(counter.size, size);
    });
  }
  it('a CR ending one chunk and an LF starting the next count as one CRLF', () => {
    const counter = new WireSizeCounter();
    counter.push(Buffer.from('a\r'));
    counter.push(Buffer.from('\nb\n'));
    assert.equal(counter.size, 6);
  });
});
