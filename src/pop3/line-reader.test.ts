import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineReader, type LineEvent } from './line-reader.js';

function feed(reader: LineReader, input: string, bytewise: boolean): string[] {
  const buf = Buffer.from(input, 'latin1');
  const events: LineEvent[] = [];
  if (bytewise) for (const byte of buf) events.push(...reader.push(Buffer.of(byte)));
  else events.push(...reader.push(buf));
  return events.map((e) => (e.kind === 'line' ? e.line.toString('latin1') : '<too-long>'));
}

describe('LineReader splits CRLF lines within a length limit', () => {
  for (const bytewise of [false, true]) {
    const how = bytewise ? 'byte by byte' : 'whole';
    it(`splits pipelined commands (${how})`, () => {
      assert.deepEqual(feed(new LineReader(255), 'USER a\r\nPASS b c\r\nSTAT\r\n', bytewise), ['USER a', 'PASS b c', 'STAT']);
    });
    it(`accepts a bare LF (${how})`, () => {
      assert.deepEqual(feed(new LineReader(255), 'NOOP\nSTAT\r\n', bytewise), ['NOOP', 'STAT']);
    });
    it(`holds an unfinished line until its end arrives (${how})`, () => {
      const reader = new LineReader(255);
      assert.deepEqual(feed(reader, 'RE', bytewise), []);
      assert.deepEqual(feed(reader, 'TR 1\r', bytewise), []);
      assert.deepEqual(feed(reader, '\n', bytewise), ['RETR 1']);
    });
    it(`reports an overlong line once, discards it, and goes on (${how})`, () => {
      const long = 'X'.repeat(300);
      assert.deepEqual(feed(new LineReader(255), `NOOP\r\n${long}\r\nSTAT\r\n`, bytewise), ['NOOP', '<too-long>', 'STAT']);
    });
    it(`accepts a line of exactly the limit, CRLF included (${how})`, () => {
      const line = 'N'.repeat(253);
      assert.deepEqual(feed(new LineReader(255), `${line}\r\n`, bytewise), [line]);
      assert.deepEqual(feed(new LineReader(255), `${line}N\r\n`, bytewise), ['<too-long>']);
    });
  }
  it('keeps memory bounded on an endless line', () => {
    const reader = new LineReader(100);
    const events = [];
    for (let i = 0; i < 1000; i++) events.push(...reader.push(Buffer.alloc(1000, 65)));
    assert.equal(events.length, 1);
    assert.deepEqual(feed(reader, 'more\r\nSTAT\r\n', false), ['STAT']);
  });
});
