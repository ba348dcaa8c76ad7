import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { advertisedMechanisms, createMechanisms, MECHANISM_NAMES, MechanismConfigError, selectMechanism } from './mechanisms.js';
import { MemoryCredentials } from './memory-credentials.fixture.js';
import type { SaslContext } from './types.js';

const oauth = { validate: async () => ({ ok: false as const, reason: 'no' }) };
const plain: SaslContext = { remoteAddress: '192.0.2.1', secure: false };
const trusted: SaslContext = { remoteAddress: '127.0.0.1', secure: true };
const tls: SaslContext = { remoteAddress: '192.0.2.1', secure: true, tls: { exporter: () => Buffer.alloc(32) } };
const tlsCert: SaslContext = { remoteAddress: '192.0.2.1', secure: true, tls: { serverEndPoint: Buffer.alloc(32), clientCertUser: 'alice' } };

describe('createMechanisms', () => {
  test('builds every known mechanism, in the order given, names in any case', async () => {
    const credentials = await MemoryCredentials.create({});
    const all = createMechanisms(MECHANISM_NAMES.map((n) => n.toLowerCase()), { credentials, oauth });
    assert.deepEqual(all.map((m) => m.name), [...MECHANISM_NAMES]);
  });

  test('refuses unknown names, duplicates, OAuth without a validator and a short secret', async () => {
    const credentials = await MemoryCredentials.create({});
    assert.throws(() => createMechanisms(['PLAIN', 'DIGEST-MD5'], { credentials }), MechanismConfigError);
    assert.throws(() => createMechanisms(['PLAIN', 'plain'], { credentials }), MechanismConfigError);
    assert.throws(() => createMechanisms(['XOAUTH2'], { credentials }), MechanismConfigError);
    assert.throws(() => createMechanisms(['OAUTHBEARER'], { credentials }), MechanismConfigError);
    assert.throws(() => createMechanisms(['CRAM-MD5'], { credentials, secret: Buffer.alloc(8) }), MechanismConfigError);
  });
});

describe('advertising and selecting', () => {
  test('what each kind of connection is offered', async () => {
    const credentials = await MemoryCredentials.create({});
    const mechanisms = createMechanisms([...MECHANISM_NAMES], { credentials, oauth });
    assert.deepEqual(advertisedMechanisms(mechanisms, plain), ['CRAM-MD5', 'SCRAM-SHA-256']);
    assert.deepEqual(advertisedMechanisms(mechanisms, trusted), ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'OAUTHBEARER', 'XOAUTH2']);
    assert.deepEqual(advertisedMechanisms(mechanisms, tls), ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS', 'OAUTHBEARER', 'XOAUTH2']);
    assert.deepEqual(advertisedMechanisms(mechanisms, tlsCert), [...MECHANISM_NAMES]);
    // Only what is enabled.
    assert.deepEqual(advertisedMechanisms(createMechanisms(['SCRAM-SHA-256-PLUS', 'PLAIN'], { credentials }), tls), ['SCRAM-SHA-256-PLUS', 'PLAIN']);
  });

  test('selectMechanism says why a mechanism cannot be used', async () => {
    const credentials = await MemoryCredentials.create({});
    const mechanisms = createMechanisms(['PLAIN', 'SCRAM-SHA-256-PLUS', 'EXTERNAL'], { credentials });
    assert.deepEqual(selectMechanism(mechanisms, 'plain', plain), { ok: false, reason: 'insecure' });
    assert.deepEqual(selectMechanism(mechanisms, 'CRAM-MD5', tls), { ok: false, reason: 'unknown' });
    assert.deepEqual(selectMechanism(mechanisms, 'SCRAM-SHA-256-PLUS', trusted), { ok: false, reason: 'unavailable' });
    assert.deepEqual(selectMechanism(mechanisms, 'EXTERNAL', tls), { ok: false, reason: 'unavailable' });
    const chosen = selectMechanism(mechanisms, 'Plain', trusted);
    assert.ok(chosen.ok);
    assert.equal(chosen.mechanism.name, 'PLAIN');
  });
});
