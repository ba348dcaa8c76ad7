import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { spool, SPOOL_IN_MEMORY, type SpooledMessage } from './spool.js';

async function read(message: SpooledMessage, prefix = ''): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of message.open(prefix)) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('latin1');
}

const files = (dir: string): Promise<string[]> => readdir(dir).catch(() => []);

describe('spool', () => {
  it('keeps a message of up to SPOOL_IN_MEMORY octets in memory, and a larger one in a file until it is removed', async () => {
    const base = await mkdtemp(join(tmpdir(), 'postel-spool-'));
    try {
      const dir = join(base, 'spool');
      const small = await spool(Readable.from([Buffer.from('Subject: a\r\n\r\n'), Buffer.from('one\r\n')]), dir);
      assert.deepEqual(await files(dir), []);
      assert.equal(await read(small, 'Received: x\r\n'), 'Received: x\r\nSubject: a\r\n\r\none\r\n');
      assert.equal(await read(small), 'Subject: a\r\n\r\none\r\n', 'read again for the next copy');
      assert.deepEqual([small.size, small.storedSize], [19, 16]);
      assert.equal(await small.header(), 'Subject: a');

      const head = 'Subject: big\r\n\r\n';
      const exact = Buffer.alloc(SPOOL_IN_MEMORY, 'x');
      exact.write(head);
      assert.deepEqual(await files(dir), []);
      const atLimit = await spool(Readable.from([exact]), dir);
      assert.deepEqual(await files(dir), [], 'exactly the limit stays in memory');
      assert.equal((await read(atLimit)).length, SPOOL_IN_MEMORY);

      // Past the limit in the middle of the stream: what was held goes to the file first.
      const big = await spool(Readable.from([exact.subarray(0, 1000), exact.subarray(1000), Buffer.from('tail\r\n')]), dir);
      assert.equal((await files(dir)).length, 1);
      assert.equal(await read(big), `${exact.toString('latin1')}tail\r\n`);
      assert.equal(await big.header(), 'Subject: big');
      assert.equal(big.size, SPOOL_IN_MEMORY + 6);
      await big.remove();
      assert.deepEqual(await files(dir), []);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });

  it('makes its directory when it is missing, at the first large message and after it was removed', async () => {
    const base = await mkdtemp(join(tmpdir(), 'postel-spool-'));
    try {
      const dir = join(base, 'data', 'spool');
      const body = Buffer.alloc(SPOOL_IN_MEMORY + 1, 'a');
      const first = await spool(Readable.from([body]), dir);
      assert.equal((await files(dir)).length, 1);
      await first.remove();
      await rm(join(base, 'data'), { recursive: true });
      const second = await spool(Readable.from([body]), dir);
      assert.equal((await read(second)).length, SPOOL_IN_MEMORY + 1);
      await second.remove();
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
