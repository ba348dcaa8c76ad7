import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lmtpReplies, planFanOut, recipientResults, settle, smtpVerdict, type RelayRights } from './delivery-policy.js';
import type { CopyOutcome } from './local-delivery.js';
import type { Route } from './recipients.js';
import { replies } from './reply.js';

const local = (users: string[], forward: string[] = []): Route => ({ kind: 'local', users, forward });
const remote: Route = { kind: 'remote' };
const unknown: Route = { kind: 'unknown' };
const ok: CopyOutcome = { ok: true };
const fail = (reply = replies.storageFull()): CopyOutcome => ({ ok: false, reply });
const noRelay: RelayRights = { mayRelay: false, canRelay: false };
const smarthost: RelayRights = { mayRelay: false, canRelay: true };
const submission: RelayRights = { mayRelay: true, canRelay: true };

describe('planFanOut: which copies one message becomes', () => {
  it('makes one copy per maildrop, named after the first recipient that leads there', () => {
    const plan = planFanOut(['a@x', 'team@x', 'b@x'], [local(['a']), local(['a', 'c']), local(['b'])], noRelay);
    assert.deepEqual(plan.copies, [
      { user: 'a', rcpt: 'a@x' },
      { user: 'c', rcpt: 'team@x' },
      { user: 'b', rcpt: 'b@x' },
    ]);
    assert.deepEqual(plan.relayTo, []);
  });
  it('relays remote recipients only with the right to, each address once', () => {
    assert.deepEqual(planFanOut(['r@y', 'r@y'], [remote, remote], submission).relayTo, ['r@y']);
    assert.deepEqual(planFanOut(['r@y'], [remote], smarthost).relayTo, []);
  });
  it('forwards remote alias targets through a smarthost, and drops them (for the log) without one', () => {
    const routes = [local(['a'], ['out@y'])];
    assert.deepEqual(planFanOut(['list@x'], routes, smarthost).relayTo, ['out@y']);
    const plan = planFanOut(['list@x'], routes, noRelay);
    assert.deepEqual(plan.relayTo, []);
    assert.deepEqual(plan.dropped, [{ rcpt: 'list@x', forward: ['out@y'] }]);
  });
  it('refuses to plan for a recipient without a route', () => {
    assert.throws(() => planFanOut(['a@x', 'b@x'], [local(['a'])], noRelay), RangeError);
  });
});

describe('recipientResults: what each recipient came to', () => {
  it('tells unknown and unrelayable recipients why, and remote ones what the queue said', () => {
    const results = recipientResults(['u@x', 'r@y'], [unknown, remote], new Map(), ok, noRelay);
    assert.equal(results[0]?.outcome.ok === false && results[0].outcome.reply.enhanced, '5.1.1');
    assert.equal(results[1]?.outcome.ok === false && results[1].outcome.reply.enhanced, '5.7.1');
    const relayed = recipientResults(['r@y'], [remote], new Map(), fail(replies.localError()), submission);
    assert.equal(relayed[0]?.outcome.ok === false && relayed[0].outcome.reply.code, 451);
  });
  it('counts an alias as stored when any copy was, and lists the copies that failed', () => {
    const copies = new Map([
      ['a', ok],
      ['c', fail()],
    ]);
    const [team] = recipientResults(['team@x'], [local(['a', 'c'])], copies, ok, noRelay);
    assert.deepEqual(team?.outcome, ok);
    assert.deepEqual(
      team?.failedTargets.map((t) => [t.user, t.reply.code]),
      [['c', 452]],
    );
  });
  it('prefers a temporary failure when every copy of an alias failed', () => {
    const copies = new Map([
      ['a', fail(replies.overQuota())],
      ['c', fail(replies.storageFull())],
    ]);
    const [team] = recipientResults(['team@x'], [local(['a', 'c'])], copies, ok, noRelay);
    assert.equal(team?.outcome.ok === false && team.outcome.reply.code, 452);
  });
  it('includes the smarthost entry in an alias with remote targets', () => {
    const [list] = recipientResults(['list@x'], [local([], ['out@y'])], new Map(), fail(replies.localError()), smarthost);
    assert.equal(list?.outcome.ok, false);
  });
});

describe('smtpVerdict and settle: one SMTP reply, and what the queue takes over', () => {
  it('refuses with a temporary reply first when nothing was stored, so the client keeps the message', () => {
    const results = recipientResults(['a@x', 'b@x'], [local(['a']), local(['b'])], new Map([['a', fail(replies.overQuota())], ['b', fail(replies.storageFull())]]), ok, noRelay);
    const verdict = smtpVerdict(results);
    assert.equal(verdict.kind === 'refuse' && verdict.reply.code, 452);
  });
  it('says "delivered" when every copy is stored', () => {
    const results = recipientResults(['a@x'], [local(['a'])], new Map([['a', ok]]), ok, noRelay);
    assert.deepEqual(smtpVerdict(results), { kind: 'accept', text: '2.0.0 Ok: delivered', settlement: { retry: [], bounce: [] } });
  });
  it('accepts a partial delivery, queues temporary failures and bounces permanent ones', () => {
    const results = recipientResults(
      ['a@x', 'b@x', 'c@x'],
      [local(['a']), local(['b']), local(['c'])],
      new Map([['a', ok], ['b', fail(replies.storageFull())], ['c', fail(replies.overQuota())]]),
      ok,
      noRelay,
    );
    const verdict = smtpVerdict(results);
    assert.equal(verdict.kind, 'accept');
    if (verdict.kind !== 'accept') return;
    assert.equal(verdict.text, '2.0.0 Ok: delivered or queued');
    assert.deepEqual(verdict.settlement.retry, [{ address: 'b@x', user: 'b' }]);
    assert.deepEqual(verdict.settlement.bounce, [{ address: 'c@x', status: '5.2.2', diagnostic: '552 5.2.2 Mailbox full: over quota' }]);
  });
  it('bounces a recipient refused as a whole (no maildrop of its own), and asks for a resend when that was temporary', () => {
    const stored = recipientResults(['a@x', 'u@x'], [local(['a']), unknown], new Map([['a', ok]]), ok, noRelay);
    const verdict = smtpVerdict(stored);
    assert.deepEqual(verdict.kind === 'accept' && verdict.settlement.bounce.map((b) => b.address), ['u@x']);
    const queueDown = recipientResults(['a@x', 'r@y'], [local(['a']), remote], new Map([['a', ok]]), fail(replies.localError()), submission);
    const again = smtpVerdict(queueDown);
    assert.equal(again.kind === 'accept' && again.settlement.resend?.code, 451);
  });
  it('for LMTP settles only the failed alias targets of recipients that were stored', () => {
    const results = recipientResults(
      ['team@x', 'b@x'],
      [local(['a', 'c']), local(['b'])],
      new Map([['a', ok], ['c', fail(replies.storageFull())], ['b', fail(replies.storageFull())]]),
      ok,
      noRelay,
    );
    assert.deepEqual(settle(results, false), { retry: [{ address: 'team@x', user: 'c' }], bounce: [] });
    const [first, second] = lmtpReplies(results);
    assert.equal(first, '2.0.0 <team@x> Ok: delivered');
    assert.equal(typeof second === 'object' && second.code, 452);
  });
});
