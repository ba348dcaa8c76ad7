import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MultilineDecoder } from './multiline-decoder.js';

/** Byte-stuffs lines as a server does and appends the terminator. */
function encode(body: string, eol = '\r\n'): string {
  return `${body.replace(/(^|\n)\./g, '$1..')}.${eol}`;
}

function decodeIn(pieces: readonly string[]): { body: string; rest: string; done: boolean } {
  const decoder = new MultilineDecoder();
  let body = '';
  let rest = '';
  for (const [i, piece] of pieces.entries()) {
    const r = decoder.push(Buffer.from(piece, 'latin1'));
    body += Buffer.concat(r.body).toString('latin1');
    if (r.done) {
      // What the decoder did not take, plus what was never fed, is the next response.
      rest = r.rest.toString('latin1') + pieces.slice(i + 1).join('');
      return { body, rest, done: true };
    }
  }
  return { body, rest, done: decoder.endOfStream() };
}

const BODIES = ['', 'one line\r\n', '.\r\n', '..\r\n', '.leading\r\nmid.dle\r\n.\r\n..x\r\n', 'a\r\n\r\n.\r\nb\r\n', '.\rodd\r\n', 'bin\x00\xff\r\n'];

test('every body survives every split into two pieces, with the next response left over', () => {
  for (const body of BODIES) {
    const wire = `${encode(body)}+OK next\r\n`;
    for (let cut = 0; cut <= wire.length; cut++) {
      const r = decodeIn([wire.slice(0, cut), wire.slice(cut)]);
      assert.equal(r.done, true, JSON.stringify({ body, cut }));
      assert.equal(r.body, body, JSON.stringify({ body, cut }));
      assert.equal(r.rest, '+OK next\r\n', JSON.stringify({ body, cut }));
    }
  }
});

test('byte by byte', () => {
  for (const body of BODIES) {
    const r = decodeIn([...encode(body)]);
    assert.equal(r.body, body);
    assert.equal(r.done, true);
  }
});

test('bare LF line ends and a bare-LF terminator are accepted', () => {
  const r = decodeIn(['line\n..dot\n.\n+OK']);
  assert.deepEqual(r, { body: 'line\n.dot\n', rest: '+OK', done: true });
});

test('a terminator cut off by the end of the stream still ends the body', () => {
  assert.deepEqual(decodeIn(['a\r\n.']), { body: 'a\r\n', rest: '', done: true });
  assert.deepEqual(decodeIn(['a\r\n.\r']), { body: 'a\r\n', rest: '', done: true });
});

test('a body cut off in the middle is not complete', () => {
  assert.equal(decodeIn(['a\r\nb']).done, false);
  assert.equal(decodeIn(['a\r\n']).done, false);
});

test('the rest of a large chunk is returned as a slice, not copied', () => {
  const chunk = Buffer.from('x\r\n.\r\n+OK\r\n');
  const r = new MultilineDecoder().push(chunk);
  assert.equal(r.rest.buffer, chunk.buffer);
});
