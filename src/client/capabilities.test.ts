import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCapabilities } from './capabilities.js';

test('CAPA lines become typed capabilities', () => {
  const caps = parseCapabilities(['TOP', 'user', 'UIDL', 'SASL PLAIN scram-sha-256', 'sasl LOGIN', 'RESP-CODES', 'PIPELINING', 'LOGIN-DELAY 900 USER', 'EXPIRE NEVER', 'STLS', 'IMPLEMENTATION Shlemazle Plotz-v302']);
  assert.equal(caps.known, true);
  assert.equal(caps.user, true);
  assert.equal(caps.stls, true);
  assert.equal(caps.pipelining, true);
  assert.deepEqual(caps.sasl, ['PLAIN', 'SCRAM-SHA-256', 'LOGIN']);
  assert.equal(caps.loginDelaySeconds, 900);
  assert.equal(caps.expire, 'NEVER');
  assert.equal(caps.implementation, 'Shlemazle Plotz-v302');
});

test('absent and malformed values', () => {
  const caps = parseCapabilities(['EXPIRE 30', 'LOGIN-DELAY soon', '']);
  assert.equal(caps.expire, 30);
  assert.equal(caps.loginDelaySeconds, undefined);
  assert.equal(caps.pipelining, false);
  assert.deepEqual(caps.sasl, []);
});
