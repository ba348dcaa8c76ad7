import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey, AuthPolicy, RECENT_FAILURES, type AuthEvent, type AuthPolicySettings, type LoginOutcome } from './policy.js';

/** A policy on a fake clock whose waits advance the clock and are recorded. */
function policyFor(settings: Partial<AuthPolicySettings> = {}, onEvent?: (e: AuthEvent) => void) {
  const clock = { now: 1_000_000 };
  const waits: number[] = [];
  const policy = new AuthPolicy(
    { windowMs: 900_000, maxFailuresPerIp: 20, maxUserDelayMs: 15_000, failureResponseMs: 2000, ...settings },
    {
      now: () => clock.now,
      sleep: async (ms) => {
        waits.push(ms);
        clock.now += ms;
      },
      ...(onEvent ? { onEvent } : {}),
    },
  );
  /** One attempt whose check takes `checkMs`; returns the verdict and how long the answer took. */
  const attempt = async (remoteAddress: string, outcome: LoginOutcome, checkMs = 0) => {
    const started = clock.now;
    const verdict = await policy.verify({ protocol: 'test', remoteAddress, secure: true }, async () => {
      clock.now += checkMs;
      return outcome;
    });
    return { verdict, tookMs: clock.now - started };
  };
  return { policy, clock, waits, attempt };
}

const wrong = (user: string): LoginOutcome => ({ ok: false, user, reason: 'bad-password' });
const right = (user: string): LoginOutcome => ({ ok: true, user });

describe('AuthPolicy', () => {
  it('answers every failure at the floor, however long the check took', async () => {
    const { attempt } = policyFor({ maxFailuresPerIp: 100, delayStepMs: 0 });
    // An unknown user's dummy hash, a {PLAIN} compare and a slow SHA-crypt: the same answer time.
    for (const [i, checkMs] of [0, 1, 22, 92, 1999].entries()) {
      const { verdict, tookMs } = await attempt(`192.0.2.${i}`, wrong(`user${i}`), checkMs);
      assert.equal(verdict.kind, 'failed');
      assert.equal(tookMs, 2000, `check of ${checkMs} ms`);
    }
  });

  it('per address: a growing delay on each failure, then a block for the window, even for the right password', async () => {
    const { attempt, clock } = policyFor({ maxFailuresPerIp: 5, failureResponseMs: 0 });
    const took: number[] = [];
    for (let i = 0; i < 5; i++) took.push((await attempt('192.0.2.1', wrong(`u${i}`))).tookMs);
    assert.deepEqual(took, [0, 1000, 2000, 4000, 8000]);
    const blocked = await attempt('192.0.2.1', right('alice'));
    assert.equal(blocked.verdict.kind, 'blocked');
    assert.equal((await attempt('192.0.2.2', right('alice'))).verdict.kind, 'ok', 'another address is not blocked');
    clock.now += 900_001;
    assert.equal((await attempt('192.0.2.1', right('alice'))).verdict.kind, 'ok', 'the block ends with the window');
  });

  it('the address delay is capped at max_user_delay', async () => {
    const { attempt } = policyFor({ maxFailuresPerIp: 100, failureResponseMs: 0, maxUserDelayMs: 5000 });
    let last = 0;
    for (let i = 0; i < 10; i++) last = (await attempt('192.0.2.1', wrong(`u${i}`))).tookMs;
    assert.equal(last, 5000);
  });

  it('per user: no lock-out; a known address gets in at once, a new one after at most the capped delay', async () => {
    const { attempt } = policyFor({ maxFailuresPerIp: 3, failureResponseMs: 0, maxUserDelayMs: 15_000 });
    assert.equal((await attempt('198.51.100.1', right('alice'))).verdict.kind, 'ok');
    // 60 guesses at alice from 20 addresses, each address staying under its block.
    for (let a = 1; a <= 20; a++) for (let i = 0; i < 3; i++) assert.equal((await attempt(`203.0.113.${a}`, wrong('Alice'))).verdict.kind, 'failed');
    const known = await attempt('198.51.100.1', right('alice'));
    assert.deepEqual(known, { verdict: { kind: 'ok', user: 'alice' }, tookMs: 0 });
    const fresh = await attempt('192.0.2.77', right('alice'));
    assert.equal(fresh.verdict.kind, 'ok');
    assert.equal(fresh.tookMs, 15_000, 'the capped delay, not a refusal');
    // That address is known now.
    assert.equal((await attempt('192.0.2.77', right('alice'))).tookMs, 0);
    // Other users are not slowed by alice's attacker.
    assert.equal((await attempt('192.0.2.78', right('bob'))).tookMs, 0);
  });

  it('per user: the delay grows with the failures for that name', async () => {
    const { policy, attempt } = policyFor({ maxFailuresPerIp: 100, failureResponseMs: 0 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(policy.userDelayMs('192.0.2.200', 'bob'));
      await attempt(`203.0.113.${i}`, wrong('bob'));
    }
    assert.deepEqual(delays, [0, 1000, 2000, 4000, 8000, 15_000]);
  });

  it('keeps several processes in step through events', async () => {
    const events: AuthEvent[] = [];
    const a = policyFor({ maxFailuresPerIp: 2, failureResponseMs: 0 }, (e) => events.push(e));
    const b = policyFor({ maxFailuresPerIp: 2, failureResponseMs: 0 });
    await a.attempt('192.0.2.9', wrong('carol'));
    await a.attempt('192.0.2.9', wrong('carol'));
    await a.attempt('198.51.100.9', right('carol'));
    assert.deepEqual(
      events.map((e) => (e.kind === 'failure' ? { ...e, seen: { ...e.seen, at: 0 } } : e)),
      [
        { kind: 'failure', address: '192.0.2.9', user: 'carol', seen: { protocol: 'test', remote: '192.0.2.9', typed: 'carol', at: 0 } },
        { kind: 'failure', address: '192.0.2.9', user: 'carol', seen: { protocol: 'test', remote: '192.0.2.9', typed: 'carol', at: 0 } },
        { kind: 'login', address: '198.51.100.9', user: 'carol' },
      ],
    );
    for (const e of events) b.policy.apply(e);
    assert.equal(b.policy.isBlocked('192.0.2.9'), true);
    assert.deepEqual(
      b.policy.recentFailures().map((f) => [f.door, f.address, f.user]),
      [
        ['test', '192.0.2.9', 'carol'],
        ['test', '192.0.2.9', 'carol'],
      ],
      'a failure another process counted is listed here too',
    );
    assert.equal(b.policy.isKnown('198.51.100.9', 'carol'), true);
  });

  it('tells the others of a login from a known address only again after five minutes (not once per session), and a new address at once', async () => {
    const events: AuthEvent[] = [];
    const { attempt, clock } = policyFor({ failureResponseMs: 0 }, (e) => events.push(e));
    const logins = (): string[] => events.filter((e) => e.kind === 'login').map((e) => e.address);
    await attempt('192.0.2.7', right('dave'));
    await attempt('192.0.2.7', right('dave'));
    clock.now += 4 * 60_000;
    await attempt('192.0.2.7', right('dave'));
    assert.deepEqual(logins(), ['192.0.2.7']);
    await attempt('192.0.2.8', right('dave'));
    assert.deepEqual(logins(), ['192.0.2.7', '192.0.2.8']);
    // A process started since (or one that forgot) learns it again.
    clock.now += 60_000;
    await attempt('192.0.2.7', right('dave'));
    assert.deepEqual(logins(), ['192.0.2.7', '192.0.2.8', '192.0.2.7']);
  });

  it('keeps the last RECENT_FAILURES failed logins, newest first, with the name as typed', async () => {
    const { attempt, policy } = policyFor({ maxFailuresPerIp: 3, failureResponseMs: 0, maxUserDelayMs: 0 });
    await attempt('::ffff:192.0.2.1', wrong('Bob'));
    await attempt('192.0.2.2', { ok: false, reason: 'no user' });
    await attempt('192.0.2.3', right('bob'));
    assert.deepEqual(
      policy.recentFailures().map((f) => ({ ...f, at: 0 })),
      [
        { at: 0, address: '192.0.2.2', user: null, door: 'test', blocked: false },
        { at: 0, address: '192.0.2.1', user: 'Bob', door: 'test', blocked: false },
      ],
    );
    for (let i = 0; i < RECENT_FAILURES + 5; i++) await attempt(`198.51.100.${i % 200}`, wrong(`u${i}`));
    const list = policy.recentFailures();
    assert.equal(list.length, RECENT_FAILURES, 'bounded');
    assert.equal(list[0]?.user, `u${RECENT_FAILURES + 4}`);
    assert.equal(list.at(-1)?.user, 'u5', 'the oldest were dropped');
    // A blocked address's attempts are listed as such.
    for (let i = 0; i < 3; i++) await attempt('203.0.113.7', wrong('eve'));
    await attempt('203.0.113.7', right('eve'));
    assert.deepEqual({ ...policy.recentFailures()[0], at: 0 }, { at: 0, address: '203.0.113.7', user: null, door: 'test', blocked: true });
  });

  it('counts IPv6 clients by /64 and IPv4-mapped ones as IPv4', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    const { policy } = policyFor({ maxFailuresPerIp: 1 });
    policy.apply({ kind: 'failure', address: '2001:db8:1:2::5' });
    assert.equal(policy.isBlocked('2001:db8:1:2:ffff::9'), true);
    assert.equal(policy.isBlocked('2001:db8:1:3::5'), false);
  });

  it('finishing an attempt twice is a programming error', async () => {
    const { policy } = policyFor();
    const attempt = policy.begin({ protocol: 'test', remoteAddress: '192.0.2.1', secure: true });
    await attempt.finish(right('alice'));
    assert.throws(() => attempt.finish(right('alice')));
  });
});
