import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constantTimeEqual } from './constant-time.js';

test('constantTimeEqual compares bytes and lengths', () => {
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  assert.equal(constantTimeEqual(bytes('secret'), bytes('secret')), true);
  assert.equal(constantTimeEqual(bytes(''), bytes('')), true);
  assert.equal(constantTimeEqual(bytes('secret'), bytes('secreT')), false);
  assert.equal(constantTimeEqual(bytes('secret'), bytes('secret\0')), false);
  assert.equal(constantTimeEqual(bytes('secret\0'), bytes('secret')), false);
  assert.equal(constantTimeEqual(bytes(''), bytes('\0')), false);
});
