import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DotStuffer } from '../message/dot-stuffer.js';
import { framingKernelAvailable } from '../message/framing-kernel.js';
import { MultilineFramer, type WireChunk, type WireSource } from '../message/wire-source.js';
import type { Transport } from './transport.js';
import { writeMessage } from './responses.js';

/** Records each write as its own buffer; `full` makes writes report a slow peer until drained. */
class RecordingTransport implements Pick<Transport, 'closed' | 'write' | 'drained' | 'cork' | 'uncork'> {
  closed = false;
  full = false;
  readonly writes: Buffer[] = [];
  readonly events: string[] = [];
  private waiting: (() => void)[] = [];
  write(data: string | Buffer, flushed?: () => void): boolean {
    const bytes = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
    this.writes.push(bytes);
    this.events.push(`write ${bytes.length}`);
    flushed?.();
    return !this.full;
  }
  drained(): Promise<void> {
    if (!this.full) return Promise.resolve();
    this.events.push('wait');
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  drain(): void {
    this.full = false;
    this.events.push('drained');
    for (const resolve of this.waiting.splice(0)) resolve();
  }
  cork(): void {}
  uncork(): void {}
  get output(): string {
    return Buffer.concat(this.writes).toString('latin1');
  }
}

const asTransport = (t: RecordingTransport): Transport => t as unknown as Transport;

/** What RFC 1939 says goes on the wire for `stored` (the JavaScript framing, no kernel). */
function expectedWire(stored: string): string {
  const stuffer = new DotStuffer(undefined, { kernel: false });
  return Buffer.concat([stuffer.push(Buffer.from(stored, 'latin1')), stuffer.end()]).toString('latin1');
}

describe('writeMessage', () => {
  const kernel = { skip: !framingKernelAvailable() && 'no WebAssembly kernel here' };

  it('sends a message framed whole and its status line as one write, and releases the buffer after it', kernel, async () => {
    const stored = 'Subject: x\n\n.starts with a dot\nlast line without LF';
    const source = new MultilineFramer().frameWhole(Buffer.from(stored, 'latin1'));
    let released = 0;
    const [chunk] = source.chunks as WireChunk[];
    assert.ok(chunk?.release);
    const release = chunk.release;
    const counted: WireSource = { chunks: [{ ...chunk, release: () => (released++, release()) }], close: source.close };
    const t = new RecordingTransport();
    await writeMessage(asTransport(t), '+OK 60 octets', counted);
    assert.equal(t.writes.length, 1);
    assert.equal(t.output, `+OK 60 octets\r\n${expectedWire(stored)}`);
    assert.equal(released, 1);
  });

  it('writes the same bytes when the status line does not fit in the room before the message', kernel, async () => {
    const stored = 'a\n.b\n';
    const long = `+OK ${'x'.repeat(300)}`;
    const t = new RecordingTransport();
    await writeMessage(asTransport(t), long, new MultilineFramer().frameWhole(Buffer.from(stored)));
    assert.ok(t.writes.length > 1);
    assert.equal(t.output, `${long}\r\n${expectedWire(stored)}`);
  });

  it('writes a status line in UTF-8 (LANG) byte for byte before the message', kernel, async () => {
    const t = new RecordingTransport();
    await writeMessage(asTransport(t), '+OK 5 Oktette für dich', new MultilineFramer().frameWhole(Buffer.from('hi\n')));
    assert.equal(Buffer.concat(t.writes).toString('utf8'), '+OK 5 Oktette für dich\r\nhi\r\n.\r\n');
  });

  it('writes nothing to a closed connection and still closes the source', async () => {
    const t = new RecordingTransport();
    t.closed = true;
    let closed = false;
    await writeMessage(asTransport(t), '+OK', { chunks: [{ bytes: Buffer.from('a\r\n.\r\n') }], close: () => (closed = true) });
    assert.deepEqual(t.writes, []);
    assert.equal(closed, true);
  });

  it('asks a streamed source for its next chunk only after a slow reader drained', async () => {
    const t = new RecordingTransport();
    const pulled: number[] = [];
    async function* chunks(): AsyncGenerator<WireChunk> {
      for (let i = 0; i < 3; i++) {
        pulled.push(i);
        t.events.push(`pull ${i}`);
        yield { bytes: Buffer.from(`line ${i}\r\n`) };
      }
      yield { bytes: Buffer.from('.\r\n') };
    }
    t.full = true;
    const done = writeMessage(asTransport(t), '+OK', { chunks: chunks(), close: () => undefined });
    // Give the writer every chance to run ahead: it must be waiting for drain after the first chunk.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(pulled, [0, 1]);
    assert.equal(t.events.at(-1), 'wait');
    t.drain();
    await done;
    assert.equal(t.output, '+OK\r\nline 0\r\nline 1\r\nline 2\r\n.\r\n');
    assert.deepEqual(pulled, [0, 1, 2]);
  });
});
