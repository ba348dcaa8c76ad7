import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  hashPassword,
  isPlaintextEquivalent,
  isSupportedScheme,
  plaintextOf,
  schemeOf,
  verifyPassword,
} from './password-schemes.js';
import { DEFAULT_SCRYPT_COST, scryptCostOf } from './scrypt-hash.js';

const CHEAP = { ln: 4 };

test('new passwords default to SCRYPT with the documented cost and layout', async () => {
  const stored = await hashPassword('correct horse');
  assert.match(stored, /^\{SCRYPT\}\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.deepEqual(scryptCostOf(stored.slice('{SCRYPT}'.length)), DEFAULT_SCRYPT_COST);
  assert.equal(await verifyPassword(stored, 'correct horse'), true);
  assert.equal(await verifyPassword(stored, 'correct horsE'), false);
});

test('SCRYPT cost comes from the stored string', async () => {
  const stored = await hashPassword('pässwörd 🔑', 'SCRYPT', CHEAP);
  assert.match(stored, /^\{SCRYPT\}\$scrypt\$ln=4,r=8,p=1\$/);
  assert.equal(await verifyPassword(stored, 'pässwörd 🔑'), true);
  assert.equal(await verifyPassword(stored, 'passwörd 🔑'), false);
  assert.equal(await verifyPassword(stored, ''), false);
  const other = await hashPassword('pässwörd 🔑', 'SCRYPT', CHEAP);
  assert.notEqual(other, stored, 'every hash gets its own salt');
});

test('a tampered SCRYPT value never verifies', async () => {
  const stored = await hashPassword('secret', 'SCRYPT', CHEAP);
  const [, , params = '', salt = '', key = ''] = stored.split('$');
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
  const variants = [
    `{SCRYPT}$scrypt$${params}$${salt}$${flip(key, 10)}`,
    `{SCRYPT}$scrypt$${params}$${flip(salt, 3)}$${key}`,
    `{SCRYPT}$scrypt$${params.replace('ln=4', 'ln=5')}$${salt}$${key}`,
    `{SCRYPT}$scrypt$${params.replace('r=8', 'r=7')}$${salt}$${key}`,
    `{SCRYPT}$scrypt$${params}$${salt}$${key.slice(0, -4)}`,
    `{SCRYPT}$scrypt$${params}$${salt}$${key}=`,
    `{SCRYPT}$scrypt$${params}$${salt}`,
    // Beyond the memory bound: refused without trying to allocate.
    `{SCRYPT}$scrypt$ln=60,r=8,p=1$${salt}$${key}`,
    `{SCRYPT}$scrypt$ln=0,r=8,p=1$${salt}$${key}`,
    '{SCRYPT}',
  ];
  for (const variant of variants) {
    assert.equal(await verifyPassword(variant, 'secret'), false, variant);
  }
  assert.equal(await verifyPassword(stored, 'secret'), true);
});

test('non-canonical base64 (spare low bits set) is refused', async () => {
  const stored = await hashPassword('secret', 'SCRYPT', CHEAP);
  // 32 bytes take 43 characters; the last carries 4 unused bits.
  const last = stored.at(-1) ?? '';
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const sibling = alphabet[alphabet.indexOf(last) ^ 1] ?? '';
  assert.equal(await verifyPassword(stored.slice(0, -1) + sibling, 'secret'), false);
});

test('PLAIN and CLEARTEXT compare the secret itself; scheme names ignore case', async () => {
  assert.equal(await hashPassword('tanstaaf', 'PLAIN'), '{PLAIN}tanstaaf');
  assert.equal(await verifyPassword('{PLAIN}tanstaaf', 'tanstaaf'), true);
  assert.equal(await verifyPassword('{PLAIN}tanstaaf', 'tanstaa'), false);
  assert.equal(await verifyPassword('{PLAIN}tanstaaf', 'tanstaaff'), false);
  assert.equal(await verifyPassword('{CLEARTEXT}tanstaaf', 'tanstaaf'), true);
  assert.equal(await verifyPassword('{plain}tanstaaf', 'tanstaaf'), true);
  assert.equal(await verifyPassword('{PLAIN}', ''), true);
  assert.equal(await verifyPassword('{PLAIN}a:b}c', 'a:b}c'), true);
});

test('SHA-crypt values verify with and without a scheme prefix', async () => {
  const sha512 = '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1';
  const sha256 = '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA';
  for (const stored of [`{SHA512-CRYPT}${sha512}`, sha512, `{CRYPT}${sha512}`, `{sha512-crypt}${sha512}`]) {
    assert.equal(await verifyPassword(stored, 'Hello world!'), true, stored);
    assert.equal(await verifyPassword(stored, 'Hello world'), false, stored);
  }
  for (const stored of [`{SHA256-CRYPT}${sha256}`, sha256]) {
    assert.equal(await verifyPassword(stored, 'Hello world!'), true, stored);
    assert.equal(await verifyPassword(stored, 'hello world!'), false, stored);
  }
  // The scheme and the crypt id must agree.
  assert.equal(await verifyPassword(`{SHA256-CRYPT}${sha512}`, 'Hello world!'), false);
  assert.equal(await verifyPassword(`{SHA512-CRYPT}${sha256}`, 'Hello world!'), false);
  // Tampered digest, truncated digest, and a setting written differently than crypt(3) would.
  assert.equal(await verifyPassword(sha512.replace('svn8', 'svn9'), 'Hello world!'), false);
  assert.equal(await verifyPassword(sha512.slice(0, -1), 'Hello world!'), false);
  assert.equal(await verifyPassword(sha256.replace('rounds=10000', 'rounds=010000'), 'Hello world!'), false);
});

test('unknown and unsupported schemes never verify', async () => {
  const stored = ['{MD5}XrY7u+Ae7tCTyyK7j1rNww==', '{SSHA512}abc', '{BLF-CRYPT}$2y$05$abc', '$1$salt$hash', 'plaintext', '', '{'];
  for (const value of stored) {
    assert.equal(await verifyPassword(value, 'hello world'), false, value);
    assert.equal(await verifyPassword(value, value), false, value);
  }
});

test('schemeOf and isSupportedScheme name what a stored value is', () => {
  assert.equal(schemeOf('{SCRYPT}$scrypt$...'), 'SCRYPT');
  assert.equal(schemeOf('{plain}x'), 'PLAIN');
  assert.equal(schemeOf('$6$salt$hash'), 'SHA512-CRYPT');
  assert.equal(schemeOf('$5$salt$hash'), 'SHA256-CRYPT');
  assert.equal(schemeOf('{CRYPT}$6$salt$hash'), 'SHA512-CRYPT');
  assert.equal(schemeOf('$1$salt$hash'), 'MD5-CRYPT');
  assert.equal(schemeOf('abXyZ0123'), 'CRYPT');
  assert.equal(schemeOf('{SSHA}abc'), 'SSHA');
  for (const scheme of ['SCRYPT', 'PLAIN', 'CLEARTEXT', 'SHA512-CRYPT', 'SHA256-CRYPT', 'plain']) {
    assert.equal(isSupportedScheme(scheme), true, scheme);
  }
  for (const scheme of ['MD5-CRYPT', 'CRYPT', 'SSHA', 'BLF-CRYPT', '']) {
    assert.equal(isSupportedScheme(scheme), false, scheme);
  }
});

test('only PLAIN and CLEARTEXT are plaintext-equivalent', async () => {
  assert.equal(plaintextOf('{PLAIN}tanstaaf'), 'tanstaaf');
  assert.equal(plaintextOf('{CLEARTEXT}tanstaaf'), 'tanstaaf');
  assert.equal(isPlaintextEquivalent('{PLAIN}'), true);
  for (const stored of [await hashPassword('x', 'SCRYPT', CHEAP), '$6$salt$hash', '{SHA512-CRYPT}$6$salt$hash', 'tanstaaf', '']) {
    assert.equal(plaintextOf(stored), null, stored);
    assert.equal(isPlaintextEquivalent(stored), false, stored);
  }
});

test("Dovecot's {SCRAM-SHA-256} verifies plain passwords", async () => {
  // RFC 7677's example user ("pencil"), keys computed with Python's hashlib.
  const stored = '{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=';
  assert.equal(isSupportedScheme(schemeOf(stored)), true);
  assert.equal(await verifyPassword(stored, 'pencil'), true);
  assert.equal(await verifyPassword(stored, 'pencil '), false);
  assert.equal(await verifyPassword(stored.replace('wfPL', 'wfPM'), 'pencil'), false, 'server key must match too');
  assert.equal(await verifyPassword('{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==', 'pencil'), false);
  assert.equal(isPlaintextEquivalent(stored), false);
});
