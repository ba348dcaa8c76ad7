import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BlockingGuard } from './blocking-guard.js';

describe('BlockingGuard', () => {
  let now = 0;
  let preemptions = 0;
  const guard = (): BlockingGuard => new BlockingGuard({ slowMs: 2, strikes: 2, windowMs: 100, backoffMs: 1000, now: () => now, preemptions: () => preemptions });
  const read = (g: BlockingGuard, ms: number): void =>
    g.time(() => {
      now += ms;
    });

  it('allows blocking reads while they are fast, and backs off after a few slow ones', () => {
    now = 0;
    const g = guard();
    assert.equal(g.allowed, true);
    assert.equal(
      g.time(() => 'result'),
      'result',
    );
    read(g, 5);
    assert.equal(g.allowed, true, 'one slow read is forgiven');
    read(g, 5);
    assert.equal(g.allowed, false, 'a second one within the window is not');
    now += 999;
    assert.equal(g.allowed, false);
    now += 1;
    assert.equal(g.allowed, true, 'and the backoff ends');
  });

  it('does not count a slow read during which the process was preempted (the CPU was busy, not the disk)', () => {
    now = 0;
    const g = guard();
    for (let i = 0; i < 5; i++) {
      g.time(() => {
        now += 10;
        preemptions++;
      });
    }
    assert.equal(g.allowed, true, 'preempted reads are forgiven');
    read(g, 10);
    read(g, 10);
    assert.equal(g.allowed, false, 'slow reads without preemption still count');
  });

  it('forgets slow reads outside the window', () => {
    now = 0;
    const g = guard();
    read(g, 5);
    now += 200;
    read(g, 5);
    assert.equal(g.allowed, true);
  });

  it('counts a read that throws, and passes the error on', () => {
    now = 0;
    const g = guard();
    for (let i = 0; i < 2; i++) {
      assert.throws(() =>
        g.time(() => {
          now += 10;
          throw new Error('EIO');
        }),
      );
    }
    assert.equal(g.allowed, false);
  });

  it('call() makes the blocking call while allowed, the other one after slow calls, and rejects with the error a blocking call threw', async () => {
    now = 0;
    const g = guard();
    const used: string[] = [];
    const call = (ms: number): Promise<string> =>
      g.call(
        () => {
          now += ms;
          used.push('blocking');
          return 'sync';
        },
        async () => {
          used.push('async');
          return 'async';
        },
      );
    assert.equal(await call(0), 'sync');
    await call(5);
    await call(5);
    assert.equal(await call(0), 'async');
    assert.deepEqual(used, ['blocking', 'blocking', 'blocking', 'async']);
    const failing = guard();
    await assert.rejects(
      failing.call(
        () => {
          throw Object.assign(new Error('gone'), { code: 'ENOENT' });
        },
        async () => 'unused',
      ),
      { code: 'ENOENT' },
    );
  });
});
