import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { test } from 'node:test';
import { stateFileName } from './account.js';
import { parseDestination, parseDuration, parseServerUrl, SpecError } from './specs.js';

test('server URLs', () => {
  assert.deepEqual(parseServerUrl('pop3s://alice@mail.example.org'), { tls: 'tls', host: 'mail.example.org', port: 995, user: 'alice' });
  assert.deepEqual(parseServerUrl('pop3://alice%40example.org@mail.example.org:1110'), { tls: 'starttls', host: 'mail.example.org', port: 1110, user: 'alice@example.org' });
  assert.deepEqual(parseServerUrl('pop3s://[::1]:995/'), { tls: 'tls', host: '::1', port: 995 });
  assert.throws(() => parseServerUrl('pop3s://alice:secret@host'), /password/);
  assert.throws(() => parseServerUrl('imaps://alice@host'), SpecError);
  assert.throws(() => parseServerUrl('pop3s://alice@host:99999'), /port/);
  assert.throws(() => parseServerUrl('pop3s://alice@host/INBOX'), SpecError);
});

test('destinations', () => {
  assert.deepEqual(parseDestination('maildir:~/Maildir', '/base', undefined), { kind: 'maildir', path: `${homedir()}/Maildir` });
  assert.deepEqual(parseDestination('mbox:inbox', '/base', undefined), { kind: 'mbox', path: '/base/inbox' });
  assert.deepEqual(parseDestination("mda:procmail -d 'alice'", '/base', undefined), { kind: 'mda', command: "procmail -d 'alice'" });
  assert.deepEqual(parseDestination('lmtp:127.0.0.1:24', '/', 'alice'), { kind: 'lmtp', host: '127.0.0.1', port: 24, recipient: 'alice' });
  assert.deepEqual(parseDestination('smtp:[::1]:25', '/', 'a@b'), { kind: 'smtp', host: '::1', port: 25, recipient: 'a@b' });
  assert.throws(() => parseDestination('smtp:host', '/', 'a'), /HOST:PORT/);
  assert.throws(() => parseDestination('lmtp:h:24', '/', undefined), /recipient/);
  assert.throws(() => parseDestination('maildir:', '/', undefined), /needs a path/);
  assert.throws(() => parseDestination('pipe:cat', '/', undefined), /expected maildir/);
});

test('durations', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('90'), 90_000);
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.throws(() => parseDuration('0s'));
  assert.throws(() => parseDuration('soon'));
});

test('state file names are readable, safe and distinct', () => {
  assert.equal(stateFileName('alice@mail.example.org'), 'alice@mail.example.org');
  const a = stateFileName('alice@host:995');
  const b = stateFileName('alice@host_995');
  assert.match(a, /^alice@host_995-[0-9a-f]{8}$/);
  assert.notEqual(a, b);
  assert.doesNotMatch(stateFileName('../../etc/passwd'), /\//);
  assert.doesNotMatch(stateFileName('..'), /^\./);
});
