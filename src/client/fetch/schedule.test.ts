import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pop3InUseError, Pop3LoginDelayError } from '../errors.js';
import type { AccountResult } from './events.js';
import { nextPoll } from './schedule.js';

const result = (extra: Partial<AccountResult> = {}): AccountResult => ({ account: 'a', messages: 0, delivered: 0, skipped: 0, deleted: 0, failed: 0, bytes: 0, ...extra });
const MIN = 60_000;

test('success: the interval, or the server LOGIN-DELAY if longer', () => {
  assert.deepEqual(nextPoll(result(), 3, 5 * MIN), { delayMs: 5 * MIN, failures: 0, reason: 'interval' });
  assert.equal(nextPoll(result({ loginDelaySeconds: 900 }), 0, 5 * MIN).delayMs, 900_000);
  assert.equal(nextPoll(result({ loginDelaySeconds: 60 }), 0, 5 * MIN).delayMs, 5 * MIN);
});

test('failures back off, doubling, capped at an hour', () => {
  const error = new Pop3InUseError('PASS', 'busy', 'IN-USE');
  const delays: number[] = [];
  let failures = 0;
  for (let i = 0; i < 8; i++) {
    const next = nextPoll(result({ error }), failures, 5 * MIN);
    failures = next.failures;
    delays.push(next.delayMs / MIN);
  }
  assert.deepEqual(delays, [5, 10, 20, 40, 60, 60, 60, 60]);
  assert.equal(nextPoll(result({ error }), 50, 2 * 3_600_000).delayMs, 2 * 3_600_000, 'never shorter than the interval');
});

test('[LOGIN-DELAY]: at least the announced delay, or 5 minutes if none was', () => {
  const announced = new Pop3LoginDelayError('PASS', 'wait', 'LOGIN-DELAY', 1200);
  assert.equal(nextPoll(result({ error: announced }), 0, MIN).delayMs, 1_200_000);
  const silent = new Pop3LoginDelayError('PASS', 'wait', 'LOGIN-DELAY', undefined);
  assert.equal(nextPoll(result({ error: silent }), 0, MIN).delayMs, 300_000);
});
