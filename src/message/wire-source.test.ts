import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { framingKernelAvailable } from './framing-kernel.js';
import { DotStuffer } from './dot-stuffer.js';
import { MultilineFramer, type WireChunk, type WireSource } from './wire-source.js';

async function collect(source: WireSource): Promise<{ bytes: string; releases: (() => void)[] }> {
  const parts: Buffer[] = [];
  const releases: (() => void)[] = [];
  for await (const chunk of source.chunks) {
    parts.push(Buffer.from(chunk.bytes));
    if (chunk.release) releases.push(chunk.release);
  }
  return { bytes: Buffer.concat(parts).toString('latin1'), releases };
}

describe('MultilineFramer.frameWhole', { skip: !framingKernelAvailable() && 'no WebAssembly kernel here' }, () => {
  it('frames a whole message, and its input may be overwritten at once', async () => {
    const stored = Buffer.from('Subject: x\n\n.dot\nend');
    const source = new MultilineFramer().frameWhole(stored);
    stored.fill(0x41);
    const { bytes } = await collect(source);
    assert.equal(bytes, 'Subject: x\r\n\r\n..dot\r\nend\r\n.\r\n');
  });

  it('reuses an output buffer only after it was released', async () => {
    const first = new MultilineFramer().frameWhole(Buffer.from('one\n'));
    const firstChunk = [...(first.chunks as Iterable<{ bytes: Buffer; release?: () => void }>)][0];
    assert.ok(firstChunk?.release, 'the framed bytes come in a pooled buffer');
    // Not released yet: a second RETR must not write into the first one's bytes.
    const second = await collect(new MultilineFramer().frameWhole(Buffer.from('two\n')));
    assert.equal(firstChunk.bytes.toString('latin1'), 'one\r\n.\r\n');
    assert.equal(second.bytes, 'two\r\n.\r\n');
    firstChunk.release();
    const third = new MultilineFramer().frameWhole(Buffer.from('three\n'));
    const thirdChunk = [...(third.chunks as Iterable<{ bytes: Buffer }>)][0];
    assert.equal(thirdChunk?.bytes.buffer, firstChunk.bytes.buffer, 'the released buffer is used again');
    assert.equal(thirdChunk?.bytes.toString('latin1'), 'three\r\n.\r\n');
  });

  it('gives one chunk, terminator included, with room before it that belongs to nobody else', async () => {
    for (const text of ['', 'no final newline', '.\n', 'a\r\n.b\n\n']) {
      const chunks = [...(new MultilineFramer().frameWhole(Buffer.from(text)).chunks as Iterable<WireChunk>)];
      assert.equal(chunks.length, 1, JSON.stringify(text));
      const [chunk] = chunks as [WireChunk];
      assert.ok(chunk.headroom !== undefined && chunk.headroom >= 64 && chunk.bytes.byteOffset >= chunk.headroom);
      const expected = new DotStuffer(undefined, { kernel: false });
      const pushed = expected.push(Buffer.from(text));
      assert.equal(chunk.bytes.toString('latin1'), Buffer.concat([pushed, expected.end()]).toString('latin1'));
      chunk.release?.();
    }
  });
});
