import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter } from './failure-limiter.js';

describe('FailureLimiter', () => {
  it('blocks an address after its budget, until the window passes', () => {
    let now = 0;
    const limiter = new FailureLimiter({ windowMs: 1000, maxPerIp: 3, maxPerUser: 100 }, () => now);
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.blocked('192.0.2.1', `u${i}`), null);
      limiter.record('192.0.2.1', `u${i}`);
    }
    assert.equal(limiter.blocked('192.0.2.1', 'other'), 'ip');
    assert.equal(limiter.blocked('192.0.2.2', 'other'), null);
    now = 1001;
    assert.equal(limiter.blocked('192.0.2.1', 'other'), null);
  });

  it('blocks a user name attacked from many addresses, case-insensitively', () => {
    const limiter = new FailureLimiter({ windowMs: 60_000, maxPerIp: 100, maxPerUser: 2 });
    limiter.record('192.0.2.1', 'Alice');
    limiter.record('192.0.2.2', 'alice');
    assert.equal(limiter.blocked('192.0.2.3', 'ALICE'), 'user');
    assert.equal(limiter.blocked('192.0.2.3', 'bob'), null);
  });

  it('forgets the oldest entries beyond its size bound', () => {
    const limiter = new FailureLimiter({ windowMs: 60_000, maxPerIp: 1, maxPerUser: 1, maxEntries: 10 });
    for (let i = 0; i < 20; i++) limiter.record(`198.51.100.${i}`);
    assert.equal(limiter.blocked('198.51.100.0'), null);
    assert.equal(limiter.blocked('198.51.100.19'), 'ip');
  });
});
