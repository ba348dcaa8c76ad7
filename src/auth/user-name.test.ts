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
