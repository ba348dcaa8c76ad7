import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MessageInfo } from '../types.js';
import { CHUNK_SIZE, type OpenedCopy } from './blobs.js';
import { ReadAhead } from './read-ahead.js';

/** A maildrop of these sizes, and every query ReadAhead made (the keys it asked for). */
function setup(sizes: readonly number[], fail: (keys: readonly string[]) => boolean = () => false) {
  const messages: MessageInfo[] = sizes.map((size, i) => ({ uid: `u${i}`, size }));
  const keys = sizes.map((_, i) => String(100 + i));
  const queries: string[][] = [];
  const ahead = new ReadAhead(messages, keys, async (asked) => {
    queries.push([...asked]);
    if (fail(asked)) throw new Error('database gone');
    return new Map(asked.map((key) => [key, copyOf(key)]));
  });
  return { ahead, keys, queries };
}

function copyOf(key: string): OpenedCopy {
  return { trace: Buffer.alloc(0), blob: Buffer.from(key), chunkCount: 1, first: Buffer.from(`body of ${key}`) };
}

describe('PostgreSQL read-ahead', () => {
  it('reads a maildrop taken in order in batches that double, the next one always on its way', async () => {
    const { ahead, keys, queries } = setup(new Array(40).fill(1000));
    for (let i = 0; i < 40; i++) {
      const copy = await ahead.take(i);
      if (i === 0) assert.equal(copy, undefined, 'nothing is read ahead of the first RETR');
      else assert.equal(copy?.first?.toString(), `body of ${keys[i]}`);
    }
    assert.deepEqual(
      queries.map((q) => q.length),
      [1, 1, 2, 4, 8, 16, 7],
      'batches of 1, 1, 2, 4, ... messages until the maildrop ends',
    );
    assert.deepEqual(queries.flat(), keys.slice(1), 'each message after the first read once, in order');
    ahead.drop();
  });

  it('starts again at one message after a jump, and keeps what a jump back did not need', async () => {
    const { ahead, queries } = setup(new Array(20).fill(1000));
    for (let i = 0; i < 6; i++) await ahead.take(i);
    const before = queries.length;
    assert.equal(await ahead.take(15), undefined, 'a message out of order is read as asked');
    assert.deepEqual(queries.slice(before).map((q) => q.length), [1, 1], 'the batches start again at one');
    assert.ok(await ahead.take(16), 'and the client going on in order finds its message read ahead');
    ahead.drop();
  });

  it('reads only messages of one chunk ahead, and a batch stops before a bigger one', async () => {
    const { ahead, keys, queries } = setup([10, 10, 10, CHUNK_SIZE + 1, 10, 10]);
    for (let i = 0; i < 3; i++) await ahead.take(i);
    assert.equal(await ahead.take(3), undefined, 'the big message streams when asked for');
    assert.ok(await ahead.take(4));
    assert.ok(!queries.flat().includes(keys[3] as string), 'the big message was never read ahead');
    ahead.drop();
  });

  it('keeps a batch within its octets', async () => {
    const { ahead, queries } = setup(new Array(64).fill(200 * 1024));
    for (let i = 0; i < 64; i++) await ahead.take(i);
    assert.ok(Math.max(...queries.map((q) => q.length)) <= 2, 'at most two 200 KB messages in a 512 KiB batch');
    ahead.drop();
  });

  it('answers undefined when the read ahead failed, so that the message is read as asked', async () => {
    const { ahead } = setup(new Array(5).fill(1000), (keys) => keys.includes('102'));
    await ahead.take(0);
    assert.ok(await ahead.take(1));
    assert.equal(await ahead.take(2), undefined);
    ahead.drop();
  });

  it('gives its octets back to the process budget when dropped, whatever was held', async () => {
    // Sessions that hold read-ahead and go away must not shrink the budget of the next ones:
    // after 200 such sessions (far past 16 MiB if nothing came back), reading ahead still works.
    for (let s = 0; s < 200; s++) {
      const { ahead } = setup(new Array(40).fill(200 * 1024));
      for (let i = 0; i < 8; i++) await ahead.take(i);
      ahead.drop();
    }
    // Messages as big as those sessions', which a budget left nearly full would refuse.
    const { ahead } = setup(new Array(4).fill(200 * 1024));
    await ahead.take(0);
    assert.ok(await ahead.take(1), 'the budget came back');
    ahead.drop();
  });
});
