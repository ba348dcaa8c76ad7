import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deriveScramKeys, formatScramKeys, generateScramKeys, MIN_SCRAM_ITERATIONS, parseScramKeys, strictBase64 } from './scram-keys.js';

// RFC 7677's example user, keys computed with Python's hashlib (not this code).
const RFC_KEYS = '4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=';

test('derives the keys of the RFC 7677 example', async () => {
  const keys = await deriveScramKeys('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  assert.equal(formatScramKeys(keys), RFC_KEYS);
  assert.deepEqual(parseScramKeys(RFC_KEYS), keys);
});

test('passwords are SASLprepped: NFC and NFD spellings give one set of keys', async () => {
  const salt = Buffer.alloc(16, 1);
  const nfc = await deriveScramKeys('p\u00E9ncil', salt, 4096);
  const nfd = await deriveScramKeys('pe\u0301ncil', salt, 4096);
  assert.deepEqual(nfc.storedKey, nfd.storedKey);
  assert.notDeepEqual(nfc.storedKey, (await deriveScramKeys('pencil', salt, 4096)).storedKey);
});

test('generated keys have a fresh 16-byte salt and the iterations asked for', async () => {
  const a = await generateScramKeys('secret', MIN_SCRAM_ITERATIONS);
  const b = await generateScramKeys('secret', MIN_SCRAM_ITERATIONS);
  assert.equal(a.salt.length, 16);
  assert.equal(a.iterations, 4096);
  assert.notDeepEqual(a.salt, b.salt);
  await assert.rejects(generateScramKeys('secret', 4095), RangeError);
  await assert.rejects(generateScramKeys('secret', 1.5), RangeError);
});

test('malformed stored values parse to undefined', () => {
  const [iter, salt, stored, server] = RFC_KEYS.split(',');
  for (const bad of [
    '',
    `${iter},${salt},${stored}`,
    `${RFC_KEYS},x`,
    `0,${salt},${stored},${server}`,
    `04096,${salt},${stored},${server}`,
    `99999999,${salt},${stored},${server}`,
    `${iter},,${stored},${server}`,
    `${iter},${salt},${stored?.slice(4)},${server}`,
    `${iter},${salt},${stored},${server?.replace('=', '')}`,
    `${iter},${salt}!,${stored},${server}`,
  ]) {
    assert.equal(parseScramKeys(bad), undefined, bad);
  }
});

test('strictBase64 accepts only the canonical padded spelling', () => {
  assert.deepEqual(strictBase64('biws'), Buffer.from('n,,'));
  assert.equal(strictBase64('biw'), undefined);
  assert.equal(strictBase64('bix='), undefined, 'spare bits set');
  assert.equal(strictBase64('b i w s'), undefined);
  assert.deepEqual(strictBase64(''), Buffer.alloc(0));
});
