import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wireSize } from './wire-size.js';
import { DotStuffer } from './dot-stuffer.js';
import { framingKernelAvailable } from './framing-kernel.js';

/** A slow, obviously-correct model of RFC 1939 multi-line framing to compare against. */
function reference(message: string, bodyLines?: number): string {
  let text = message.replace(/(?<!\r)\n/g, '\r\n');
  if (text.length > 0 && !text.endsWith('\n')) text += '\r\n';
  const lines = text.length === 0 ? [] : text.slice(0, -2).split('\r\n');
  let out: string[] = lines;
  if (bodyLines !== undefined) {
    const blank = lines.findIndex((l) => l === '');
    if (blank >= 0) out = lines.slice(0, blank + 1 + bodyLines);
  }
  return out.map((l) => (l.startsWith('.') ? `.${l}` : l) + '\r\n').join('') + '.\r\n';
}

function run(message: Buffer, chunkSizes: (i: number) => number, bodyLines?: number, kernel = true): string {
  const stuffer = new DotStuffer(bodyLines, { kernel });
  const parts: Buffer[] = [];
  for (let i = 0, n = 0; i < message.length && !stuffer.done; n++) {
    const size = Math.max(1, chunkSizes(n));
    parts.push(stuffer.push(message.subarray(i, i + size)));
    i += size;
  }
  parts.push(stuffer.end());
  return Buffer.concat(parts).toString('latin1');
}

const cases: Record<string, string> = {
  empty: '',
  'LF only': 'Subject: a\n\nbody\n',
  CRLF: 'Subject: a\r\n\r\nbody\r\n',
  'mixed endings': 'A: 1\r\nB: 2\n\nline\r\nline2\n',
  'unterminated last line': 'Subject: x\n\nno newline at end',
  'leading dots': '.From: x\n\n.\n..\n.hidden\nok\n.',
  'lone dot line': 'S: 1\r\n\r\n.\r\n',
  'bare CR kept': 'S: 1\n\na\rb\nc\r',
  'CR CR LF': 'S: 1\n\nx\r\r\ny\n',
  'header only': 'Subject: only header\nX: y\n',
  'blank lines in body': 'S: 1\n\n\n\n.\n\nend\n',
};

describe('DotStuffer frames messages as RFC 1939 multi-line responses', () => {
  for (const [name, message] of Object.entries(cases)) {
    const buf = Buffer.from(message, 'latin1');
    it(`${name}: whole, byte by byte and in odd chunks give the same bytes`, () => {
      const expected = reference(message);
      assert.equal(run(buf, () => buf.length), expected);
      assert.equal(run(buf, () => 1), expected);
      assert.equal(run(buf, (n) => (n % 3) + 2), expected);
    });
    it(`${name}: message octets before stuffing equal wireSize (what LIST reports)`, () => {
      const framed = reference(message);
      const unstuffed = framed
        .slice(0, -3)
        .split('\r\n')
        .map((l) => (l.startsWith('.') ? l.slice(1) : l))
        .join('\r\n');
      assert.equal(Buffer.byteLength(unstuffed, 'latin1'), wireSize(buf));
      assert.equal(run(buf, () => 1), framed);
    });
    for (const lines of [0, 1, 2, 100]) {
      it(`${name}: TOP ${lines} whole and byte by byte`, () => {
        const expected = reference(message, lines);
        assert.equal(run(buf, () => buf.length, lines), expected);
        assert.equal(run(buf, () => 1, lines), expected);
      });
    }
  }

  it('TOP n 0 sends the header and the blank line only', () => {
    assert.equal(run(Buffer.from('A: 1\nB: 2\n\nbody\nmore\n'), () => 4, 0), 'A: 1\r\nB: 2\r\n\r\n.\r\n');
  });

  it('stops consuming once TOP has its lines', () => {
    const stuffer = new DotStuffer(1);
    stuffer.push(Buffer.from('A: 1\n\nline1\n'));
    assert.equal(stuffer.done, false);
    assert.equal(stuffer.push(Buffer.from('line2\n')).length, 0);
    assert.equal(stuffer.done, true);
  });

  it('random messages agree with the model under random chunking', () => {
    const alphabet = ['a', 'b', '.', '\n', '\r', ' ', '\r\n', '\n.', '\n\n'];
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      let message = '';
      const length = rand(60);
      for (let i = 0; i < length; i++) message += alphabet[rand(alphabet.length)];
      const buf = Buffer.from(message, 'latin1');
      assert.equal(run(buf, () => rand(7) + 1), reference(message), JSON.stringify(message));
      const lines = rand(4);
      assert.equal(run(buf, () => rand(5) + 1, lines), reference(message, lines), `TOP ${lines} ${JSON.stringify(message)}`);
    }
  });

  it('the WebAssembly kernel and the JavaScript loop agree on long messages in any chunking', () => {
    assert.equal(framingKernelAvailable(), true, 'node runs WebAssembly with SIMD');
    // Long runs without LF take the 16-byte path; LFs, CRs and dots near block edges do not.
    const alphabet = ['abcdefghijklmnopqrstuvwxyz0123456789', 'x', '.', '\n', '\r', '\r\n', '\n.', '\n..', '\n\n', '.\r\n'];
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      let message = '';
      const parts = rand(300);
      for (let i = 0; i < parts; i++) message += alphabet[rand(alphabet.length)];
      const buf = Buffer.from(message, 'latin1');
      const expected = reference(message);
      const sizes = [buf.length, 16, 17, rand(40) + 1];
      for (const size of sizes) {
        assert.equal(run(buf, () => size), expected, `kernel, chunks of ${size}: ${JSON.stringify(message)}`);
        assert.equal(run(buf, () => size, undefined, false), expected, `JavaScript, chunks of ${size}: ${JSON.stringify(message)}`);
      }
      assert.equal(run(buf, () => rand(50) + 1), expected, `kernel, random chunks: ${JSON.stringify(message)}`);
    }
  });

  it('frames a chunk larger than the kernel takes at once', () => {
    const line = 'a line of text that is long enough\n.dotted line\r\n';
    const message = line.repeat(Math.ceil((600 * 1024) / line.length));
    const buf = Buffer.from(message, 'latin1');
    assert.equal(run(buf, () => buf.length), reference(message));
  });
});
