import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { StateFileError } from './errors.js';
import { AccountState } from './state.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postel-state-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const T = new Date('2030-01-01T00:00:00Z');

test('journal: pending, delivered and aborted survive a reopen', async () => {
  const path = join(dir, 'a.state');
  const state = await AccountState.open(path, 'a');
  await state.markPending('u1', { maildir: 'n1' }, T);
  await state.markDelivered('u1', T);
  await state.markPending('u2', { mbox: 10 }, T);
  await state.markPending('u3', null, T);
  await state.markAborted('u3');
  await state.close();
  const again = await AccountState.open(path, 'a');
  assert.equal(again.isDelivered('u1'), true);
  assert.equal(again.isDelivered('u2'), false);
  assert.deepEqual(again.pending, [{ uid: 'u2', token: { mbox: 10 } }]);
  await again.close();
});

test('a torn last line (killed mid-append) is ignored and repaired before the next append', async () => {
  const path = join(dir, 'b.state');
  const state = await AccountState.open(path, 'b');
  await state.markDelivered('u1', T);
  await state.close();
  await appendFile(path, '{"op":"delivered","u":"u2","a');
  const again = await AccountState.open(path, 'b');
  assert.equal(again.isDelivered('u1'), true);
  assert.equal(again.isDelivered('u2'), false);
  await again.markDelivered('u3', T);
  await again.close();
  const third = await AccountState.open(path, 'b');
  assert.equal(third.isDelivered('u3'), true);
  await third.close();
});

test('damage in the middle is an error, not a silent restart', async () => {
  const path = join(dir, 'c.state');
  await writeFile(path, '{"postel_fetch_state":1,"account":"c"}\nnot json\n{"u":"x","f":1}\n');
  await assert.rejects(AccountState.open(path, 'c'), StateFileError);
  await writeFile(path, '{"postel_fetch_state":9,"account":"c"}\n');
  await assert.rejects(AccountState.open(path, 'c'), /format 9/);
});

test('compact: first-seen times for new UIDLs; gone ones are forgotten only after 30 days', async () => {
  const path = join(dir, 'd.state');
  const state = await AccountState.open(path, 'd');
  await state.markDelivered('kept', T);
  await state.markDelivered('gone', T);
  await state.compact(T, new Set(['kept', 'fresh']));
  assert.equal(state.get('fresh')?.firstSeen, T.getTime());
  assert.equal(state.get('gone')?.missingSince, T.getTime());
  await state.compact(new Date(T.getTime() + 10 * 86_400_000), new Set(['kept', 'fresh']));
  assert.ok(state.get('gone'), 'still remembered after 10 days');
  await state.compact(new Date(T.getTime() + 31 * 86_400_000), new Set(['kept', 'fresh']));
  assert.equal(state.get('gone'), undefined);
  await state.close();
  const text = await readFile(path, 'utf8');
  assert.doesNotMatch(text, /"op"/, 'a compacted file is a snapshot');
  const again = await AccountState.open(path, 'd');
  assert.equal(again.isDelivered('kept'), true);
  assert.equal(again.get('fresh')?.delivered, undefined);
  await again.close();
});

test('importDelivered marks many at once', async () => {
  const state = await AccountState.open(join(dir, 'e.state'), 'e');
  await state.importDelivered(['a', 'b', 'c'], T);
  assert.equal(state.size, 3);
  assert.ok(['a', 'b', 'c'].every((u) => state.isDelivered(u)));
  await state.close();
});
