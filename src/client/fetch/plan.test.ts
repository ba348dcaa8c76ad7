import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planFetch, type FetchPolicy, type ServerMessage } from './plan.js';
import type { UidRecord } from './state.js';

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T00:00:00Z');
const messages: ServerMessage[] = [
  { number: 1, uid: 'old', size: 100 },
  { number: 2, uid: 'new', size: 100 },
  { number: 3, uid: 'big', size: 5000 },
  { number: 4, uid: 'headers', size: 5000 },
  { number: 5, uid: 'young', size: 100 },
];
const records: Record<string, UidRecord> = {
  old: { firstSeen: NOW.getTime() - 10 * DAY, delivered: NOW.getTime() - 10 * DAY },
  headers: { firstSeen: NOW.getTime() - 10 * DAY, delivered: NOW.getTime() - 10 * DAY, headersOnly: true },
  young: { firstSeen: NOW.getTime() - DAY, delivered: NOW.getTime() - DAY },
};
const state = { get: (uid: string) => records[uid] };
const base: FetchPolicy = { keep: true, oversize: 'skip', fetchAll: false };
const summary = (policy: Partial<FetchPolicy>) => {
  const plan = planFetch(messages, state, { ...base, ...policy }, NOW);
  return {
    fetch: plan.fetch.map((i) => `${i.message.uid}${i.headersOnly ? ':headers' : ''}${i.deleteAfter ? ':dele' : ''}`),
    skip: plan.skip.map((s) => s.message.uid),
    delete: plan.delete.map((m) => m.uid),
  };
};

test('keep: only what was never delivered; nothing deleted', () => {
  assert.deepEqual(summary({}), { fetch: ['new', 'big'], skip: [], delete: [] });
});

test('delete: new ones deleted after delivery, delivered ones deleted now, header-only copies never', () => {
  assert.deepEqual(summary({ keep: false }), { fetch: ['new:dele', 'big:dele'], skip: [], delete: ['old', 'young'] });
});

test('delete after N days counts from first seen', () => {
  assert.deepEqual(summary({ deleteAfterDays: 5 }), { fetch: ['new', 'big'], skip: [], delete: ['old'] });
  assert.deepEqual(summary({ deleteAfterDays: 0 }), { fetch: ['new:dele', 'big:dele'], skip: [], delete: ['old', 'young'] });
});

test('size limit: skip, or headers only (never deleted)', () => {
  assert.deepEqual(summary({ maxSize: 1000 }), { fetch: ['new'], skip: ['big'], delete: [] });
  assert.deepEqual(summary({ maxSize: 1000, oversize: 'headers', keep: false }), { fetch: ['new:dele', 'big:headers'], skip: [], delete: ['old', 'young'] });
});

test('fetch-all: everything, delivered or not', () => {
  assert.deepEqual(summary({ fetchAll: true }), { fetch: ['old', 'new', 'big', 'headers', 'young'], skip: [], delete: [] });
});
