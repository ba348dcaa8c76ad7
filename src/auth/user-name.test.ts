import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidUserNameError, normalizeUserName } from './user-name.js';

test('plain names pass unchanged, case included', () => {
  for (const name of ['alice', 'Alice', 'bob.smith', 'a-b_c+d', 'x', 'ünïcødé', 'a.b.c', 'trailing.']) {
    assert.equal(normalizeUserName(name), name);
  }
});

test('addresses get a lowercase domain and keep the local part', () => {
  assert.equal(normalizeUserName('Bob@Example.COM'), 'Bob@example.com');
  assert.equal(normalizeUserName('bob@example.com'), 'bob@example.com');
  assert.equal(normalizeUserName('Ünï@ÉXAMPLE.org'), 'Ünï@éxample.org');
});

test('names that could escape the mail directory or break the users file are refused', () => {
  const refused = [
    '', '.', '..', '.hidden', 'a/b', '/etc', 'a\\b', 'a..b', 'a:b', 'a b', 'a\tb', ' a', 'a ', 'a\u00a0b', 'a\u2003b',
    'a\nb', 'a\rb', 'a\0b', 'a\x1fb', 'a\x7fb', 'a@b@c', '@example.com', 'bob@', '@', 'bob@example..com',
    'lone\ud800surrogate',
  ];
  for (const name of refused) {
    assert.throws(() => normalizeUserName(name), InvalidUserNameError, JSON.stringify(name));
  }
});

test('the length limit counts UTF-8 bytes', () => {
  assert.equal(normalizeUserName('a'.repeat(255)), 'a'.repeat(255));
  assert.throws(() => normalizeUserName('a'.repeat(256)), InvalidUserNameError);
  assert.equal(normalizeUserName('é'.repeat(127)), 'é'.repeat(127));
  assert.throws(() => normalizeUserName('é'.repeat(128)), InvalidUserNameError);
});

test('the error names the problem, not the name', () => {
  assert.throws(() => normalizeUserName('x\ny'), (error: unknown) => {
    assert.ok(error instanceof InvalidUserNameError);
    assert.equal(error.name, 'InvalidUserNameError');
    assert.doesNotMatch(error.message, /x/);
    return true;
  });
});

test('non-ASCII names are prepared with SASLprep (RFC 6856): one name, one maildrop, whatever the input form', () => {
  assert.equal(normalizeUserName('jose\u0301'), 'jos\u00e9', 'decomposed becomes composed');
  assert.equal(normalizeUserName('\uff4a\uff4f\uff53\u00e9'), 'jos\u00e9', 'full-width letters fold');
  assert.equal(normalizeUserName('jos\u00e9\u00ad'), 'jos\u00e9', 'a soft hyphen maps to nothing');
  // Mapping must not bring in what the raw name could not hold.
  assert.throws(() => normalizeUserName('\u00e9\uff0fx'), InvalidUserNameError, 'a full-width solidus becomes "/"');
  assert.throws(() => normalizeUserName('\u00e9\u200e'), InvalidUserNameError, 'a direction mark is prohibited');
  assert.throws(() => normalizeUserName('\u00e9\ue000'), InvalidUserNameError, 'private use');
  assert.throws(() => normalizeUserName('\u0627a\u00e9'), InvalidUserNameError, 'mixed right-to-left and left-to-right');
});
