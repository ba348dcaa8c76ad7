import assert from 'node:assert/strict';
import { test } from 'node:test';
import { saslprep, SaslprepError, saslprepPassword } from './saslprep.js';

test('RFC 4013 section 3 examples', () => {
  assert.equal(saslprep('I\u00ADX'), 'IX', 'soft hyphen mapped to nothing');
  assert.equal(saslprep('user'), 'user');
  assert.equal(saslprep('USER'), 'USER', 'case is kept');
  assert.equal(saslprep('\u00AA'), 'a', 'NFKC');
  assert.equal(saslprep('\u2168'), 'IX', 'NFKC');
  assert.throws(() => saslprep('\u0007'), SaslprepError, 'prohibited');
  assert.throws(() => saslprep('\u0627\u0031'), SaslprepError, 'bidi');
});

test('mapping, normalization and prohibitions', () => {
  assert.equal(saslprep('a\u00A0b\u3000c'), 'a b c', 'non-ASCII spaces become SPACE');
  assert.equal(saslprep('e\u0301'), '\u00E9', 'NFC after compatibility mapping');
  assert.equal(saslprep('\uFB01'), 'fi');
  assert.equal(saslprep('a\u200Db'), 'ab', 'zero-width joiner mapped to nothing');
  for (const bad of ['a\u0000', 'a\u0085', 'a\uE000', 'a\uFDD0', 'a\u{1FFFE}', 'a\u202Eb', 'a\u{E0041}', 'a\uD800', 'a\u2FF0']) {
    assert.throws(() => saslprep(bad), SaslprepError, JSON.stringify(bad));
  }
  assert.equal(saslprep('\u05D0\u05D1'), '\u05D0\u05D1', 'all right-to-left is fine');
  assert.equal(saslprep('\u05D01\u05D1'), '\u05D01\u05D1', 'digits between right-to-left letters');
  assert.throws(() => saslprep('\u05D0a\u05D1'), SaslprepError, 'mixed directions');
});

test('unassigned code points: allowed in queries, not in stored strings', () => {
  assert.equal(saslprep('a\u{E0080}', 'query'), 'a\u{E0080}');
  assert.throws(() => saslprep('a\u{E0080}', 'stored'), SaslprepError);
});

test('passwords that cannot be prepared are used as typed', () => {
  assert.equal(saslprepPassword('pass\u00A0word'), 'pass word');
  assert.equal(saslprepPassword('tab\there'), 'tab\there');
  assert.equal(saslprepPassword('\u00AD'), '\u00AD', 'empty after preparation');
});

test('printable ASCII is returned as it is, and ASCII control characters are still refused', () => {
  const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join('');
  assert.equal(saslprep(printable), printable);
  assert.equal(saslprep(''), '');
  assert.throws(() => saslprep('a\u007fb'), SaslprepError);
  assert.throws(() => saslprep('a\u0000b'), SaslprepError);
});
