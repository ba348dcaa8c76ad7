import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { messageStream } from './message-stream.js';

async function readAll(path: string, hint: number | undefined): Promise<Buffer> {
  const stream = await messageStream(await open(path, 'r'), hint);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('messageStream reads a whole message whatever its name claims', () => {
  let dir: string;
  const body = Buffer.from('Subject: x\n\n' + 'line of text\n'.repeat(500));
  const big = Buffer.alloc(700 * 1024, 'y');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postel-msgstream-'));
    await writeFile(join(dir, 'small'), body);
    await writeFile(join(dir, 'big'), big);
    await writeFile(join(dir, 'empty'), '');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const [name, hint] of [['right size', body.length], ['no size', undefined], ['too small', 10], ['too large', body.length + 100]] as const) {
    it(`a small message, ${name} in the name`, async () => {
      assert.deepEqual(await readAll(join(dir, 'small'), hint), body);
    });
  }

  it('a message larger than one read, with and without its size', async () => {
    assert.deepEqual(await readAll(join(dir, 'big'), big.length), big);
    assert.deepEqual(await readAll(join(dir, 'big'), 1000), big);
  });

  it('an empty message', async () => {
    assert.equal((await readAll(join(dir, 'empty'), 0)).length, 0);
  });
});
