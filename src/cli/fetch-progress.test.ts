import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes, renderBar, renderSummary, ttyProgress } from './fetch-progress.js';

test('the bar shows messages and bytes and fits the width', () => {
  const line = renderBar('alice@mail.example.org', 3, 10, 1536, 1024 * 1024 * 4, 80);
  assert.match(line, /^alice@mail\.example\.org \[-{10,40}\] 3\/10 msgs {2}1\.5 KiB\/4\.0 MiB$/);
  assert.ok(line.length <= 80, line);
  assert.match(renderBar('a', 5, 10, 50, 100, 80), /^a \[#{20}-{20}\] 5\/10 msgs {2}50 B\/100 B$/);
  assert.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB');
  assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MiB', 'a mebibyte is labelled MiB');
});

test('the summary: a row per account, errors after', () => {
  const text = renderSummary([
    { account: 'home', messages: 5, delivered: 3, skipped: 1, deleted: 2, failed: 0, bytes: 0 },
    { account: 'work@example.org', messages: 0, delivered: 0, skipped: 0, deleted: 0, failed: 0, bytes: 0, error: new Error('PASS: -ERR [AUTH] no') },
  ]);
  assert.equal(
    text,
    [
      'account           new  skipped  deleted  failed  status',
      'home                3        1        2       0  ok',
      'work@example.org    0        0        0       0  FAILED',
      'work@example.org: PASS: -ERR [AUTH] no',
      '',
    ].join('\n'),
  );
});

test('on a terminal the bar is redrawn in place and ended with a newline', () => {
  let out = '';
  let clock = 0;
  const stream = { columns: 60, write: (s: string) => ((out += s), true) } as unknown as NodeJS.WriteStream;
  const progress = ttyProgress(stream, () => (clock += 200));
  progress.onEvent({ type: 'listed', account: 'a', messages: 2, toFetch: 2, bytes: 200, toDelete: 0 });
  progress.onEvent({ type: 'message-start', account: 'a', index: 1, total: 2, uid: 'u1', size: 100, headersOnly: false });
  progress.onEvent({ type: 'bytes', account: 'a', bytes: 100 });
  progress.onEvent({ type: 'delivered', account: 'a', uid: 'u1', size: 100, headersOnly: false });
  progress.onEvent({ type: 'skipped', account: 'a', uid: 'u2', reason: 'too big' });
  progress.accountDone({ account: 'a', messages: 2, delivered: 1, skipped: 1, deleted: 0, failed: 0, bytes: 100 });
  assert.match(out, /\r\x1b\[2Ka \[#+-+\] 1\/2 msgs {2}100 B\/200 B/);
  assert.match(out, /\r\x1b\[2Kpostel fetch: a: skipped u2: too big\n/);
  assert.ok(out.endsWith('\n'));
});
