import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandQueue } from './command-queue.js';

/** Runs commands on a queue with responses released by hand, recording writes and reads. */
function harness(window: number) {
  const queue = new CommandQueue(window);
  const log: string[] = [];
  const responses: (() => void)[] = [];
  const run = (name: string, pipelined: boolean): Promise<string> =>
    queue.run(
      pipelined,
      () => log.push(`write ${name}`),
      async () => {
        await new Promise<void>((r) => responses.push(r));
        log.push(`read ${name}`);
        return { value: name, done: Promise.resolve() };
      },
    );
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  return { run, log, responses, settle };
}

test('serial: each command is written after the previous response', async () => {
  const h = harness(8);
  const all = Promise.all([h.run('A', false), h.run('B', false)]);
  await h.settle();
  assert.deepEqual(h.log, ['write A']);
  h.responses.shift()?.();
  await h.settle();
  assert.deepEqual(h.log, ['write A', 'read A', 'write B']);
  h.responses.shift()?.();
  assert.deepEqual(await all, ['A', 'B']);
});

test('pipelined: written at once (up to the window), read in order', async () => {
  const h = harness(2);
  const all = Promise.all([h.run('A', true), h.run('B', true), h.run('C', true)]);
  await h.settle();
  assert.deepEqual(h.log, ['write A', 'write B']);
  h.responses.shift()?.();
  await h.settle();
  assert.deepEqual(h.log, ['write A', 'write B', 'read A', 'write C']);
  while (h.responses.length > 0 || h.log.length < 6) {
    h.responses.shift()?.();
    await h.settle();
  }
  assert.deepEqual(await all, ['A', 'B', 'C']);
});

test('a pipelined command never overtakes a serial one queued before it', async () => {
  const h = harness(8);
  const all = Promise.all([h.run('A', true), h.run('QUIT', false), h.run('B', true)]);
  await h.settle();
  assert.deepEqual(h.log, ['write A']);
  h.responses.shift()?.();
  await h.settle();
  assert.deepEqual(h.log, ['write A', 'read A', 'write QUIT', 'write B']);
  h.responses.shift()?.();
  await h.settle();
  h.responses.shift()?.();
  assert.deepEqual(await all, ['A', 'QUIT', 'B']);
});

test('a failed command does not stall the ones after it', async () => {
  const queue = new CommandQueue(4);
  const failing = queue.run(true, () => undefined, async () => {
    throw new Error('boom');
  });
  const next = queue.run(true, () => undefined, async () => ({ value: 'ok', done: Promise.resolve() }));
  await assert.rejects(failing, /boom/);
  assert.equal(await next, 'ok');
});
