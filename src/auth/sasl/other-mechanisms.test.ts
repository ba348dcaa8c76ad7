import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OAuthResult, OAuthValidator } from '../oauth/types.js';
import { externalMechanism } from './external.js';
import { MemoryCredentials } from './memory-credentials.fixture.js';
import { oauthBearerMechanism, parseOAuthBearer, parseXoauth2, xoauth2Mechanism } from './oauth-mechanisms.js';
import type { SaslContext, SaslStep } from './types.js';

const secure: SaslContext = { remoteAddress: '192.0.2.1', secure: true };
const withCert: SaslContext = { remoteAddress: '192.0.2.1', secure: true, tls: { clientCertUser: 'alice@example.org' } };

function b(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function credentials(): Promise<MemoryCredentials> {
  return MemoryCredentials.create({ 'alice@example.org': { password: 'x' }, bob: { password: 'y' } });
}

/** Tokens of three users; "down" means the key file could not be read. */
const TOKENS: Record<string, string> = { 'good-alice': 'alice@example.org', 'good-bob': 'bob', 'good-carol': 'carol' };
const validator: OAuthValidator = {
  async validate(token: string): Promise<OAuthResult> {
    if (token === 'down') return { ok: false, reason: 'key file unreadable', temporary: true };
    const user = TOKENS[token];
    return user === undefined ? { ok: false, reason: 'bad signature' } : { ok: true, user };
  },
};

function json(step: SaslStep): unknown {
  assert.equal(step.kind, 'challenge', JSON.stringify(step));
  return step.kind === 'challenge' ? JSON.parse(step.data.toString('utf8')) : undefined;
}

describe('OAUTHBEARER', () => {
  const options = async () => ({ credentials: await credentials(), validator, scope: 'mail', openidConfiguration: 'https://id.example.org/.well-known/openid-configuration' });

  test('RFC 7628 message with authzid, host and port', async () => {
    const mech = oauthBearerMechanism(await options());
    const message = 'n,a=alice@example.org,\x01host=pop.example.org\x01port=995\x01auth=Bearer good-alice\x01\x01';
    assert.deepEqual(await mech.start(secure).step(b(message)), { kind: 'success', user: 'alice@example.org' });
    // Without authzid the token decides; the scheme name is case-insensitive.
    assert.deepEqual(await mech.start(secure).step(b('n,,\x01auth=bearer good-bob\x01\x01')), { kind: 'success', user: 'bob' });
    assert.deepEqual(await mech.start(secure).step(b('y,,\x01auth=Bearer good-bob\x01\x01')), { kind: 'success', user: 'bob' });
  });

  test('a refused token gets the error JSON, then the exchange fails after the client acknowledges', async () => {
    const exchange = oauthBearerMechanism(await options()).start(secure);
    const error = json(await exchange.step(b('n,a=bob,\x01auth=Bearer expired\x01\x01')));
    assert.deepEqual(error, { status: 'invalid_token', scope: 'mail', 'openid-configuration': 'https://id.example.org/.well-known/openid-configuration' });
    const outcome = await exchange.step(b('\x01'));
    assert.ok(outcome.kind === 'failure');
    assert.match(outcome.reason, /bad signature/);
    assert.equal(outcome.user, 'bob');
  });

  test('a token for someone else, or for a user who does not exist, is refused the same way', async () => {
    const mech = oauthBearerMechanism(await options());
    for (const message of ['n,a=bob,\x01auth=Bearer good-alice\x01\x01', 'n,,\x01auth=Bearer good-carol\x01\x01']) {
      const exchange = mech.start(secure);
      assert.equal((json(await exchange.step(b(message))) as { status: string }).status, 'invalid_token');
      assert.equal((await exchange.step(b('\x01'))).kind, 'failure');
    }
  });

  test('a server-side problem is a temporary failure, without the error dance', async () => {
    const outcome = await oauthBearerMechanism(await options()).start(secure).step(b('n,,\x01auth=Bearer down\x01\x01'));
    assert.ok(outcome.kind === 'failure');
    assert.equal(outcome.temporary, true);
  });

  test('malformed messages fail at once', async () => {
    const mech = oauthBearerMechanism(await options());
    for (const message of [
      '',
      'n,,',
      'n,,auth=Bearer good-bob\x01\x01',
      'n,,\x01auth=Bearer good-bob\x01',
      'n,,\x01auth=Basic Ym9iOnk=\x01\x01',
      'n,,\x01auth=Bearer good-bob\x01auth=Bearer good-bob\x01\x01',
      'p=tls-exporter,,\x01auth=Bearer good-bob\x01\x01',
      'n,,\x01\x01',
    ]) {
      assert.equal((await mech.start(secure).step(b(message))).kind, 'failure', JSON.stringify(message));
    }
  });

  test('needs a secure connection: the token is a password for its lifetime', async () => {
    const mech = oauthBearerMechanism(await options());
    assert.equal(mech.exposesPassword, true);
    assert.equal((await mech.start({ remoteAddress: 'x', secure: false }).step(b('n,,\x01auth=Bearer good-bob\x01\x01'))).kind, 'failure');
  });

  test('parses what it should', () => {
    assert.deepEqual(parseOAuthBearer('n,a=a=2Cb,\x01auth=Bearer abc-._~+/==\x01\x01'), { user: 'a,b', token: 'abc-._~+/==' });
    assert.equal(typeof parseOAuthBearer('n,,\x01auth=Bearer a b\x01\x01'), 'string');
  });
});

describe('XOAUTH2', () => {
  test("Google's format", async () => {
    const mech = xoauth2Mechanism({ credentials: await credentials(), validator });
    assert.deepEqual(await mech.start(secure).step(b('user=bob\x01auth=Bearer good-bob\x01\x01')), { kind: 'success', user: 'bob' });
    const exchange = mech.start(secure);
    assert.equal(exchange && (await exchange.step(undefined)).kind, 'challenge');
    assert.deepEqual(await exchange.step(b('user=alice@EXAMPLE.org\x01auth=Bearer good-alice\x01\x01')), { kind: 'success', user: 'alice@example.org' });
  });

  test('failure sends the 401 JSON, then fails on the empty reply', async () => {
    const exchange = xoauth2Mechanism({ credentials: await credentials(), validator, scope: 'https://mail.example.org/' }).start(secure);
    assert.deepEqual(json(await exchange.step(b('user=alice@example.org\x01auth=Bearer good-bob\x01\x01'))), {
      status: '401',
      schemes: 'bearer',
      scope: 'https://mail.example.org/',
    });
    assert.equal((await exchange.step(Buffer.alloc(0))).kind, 'failure');
  });

  test('user= is required', () => {
    assert.equal(typeof parseXoauth2('auth=Bearer good-bob\x01\x01'), 'string');
    assert.equal(typeof parseXoauth2('user=\x01auth=Bearer good-bob\x01\x01'), 'string');
    assert.deepEqual(parseXoauth2('user=bob\x01auth=Bearer t0k3n\x01\x01'), { user: 'bob', token: 't0k3n' });
  });
});

describe('EXTERNAL', () => {
  test('succeeds as the certificate user, with an empty or matching authzid', async () => {
    const mech = externalMechanism(await credentials());
    assert.equal(mech.available(withCert), true);
    assert.deepEqual(await mech.start(withCert).step(Buffer.alloc(0)), { kind: 'success', user: 'alice@example.org' });
    assert.deepEqual(await mech.start(withCert).step(b('alice@Example.ORG')), { kind: 'success', user: 'alice@example.org' });
    const twoStep = mech.start(withCert);
    assert.equal((await twoStep.step(undefined)).kind, 'challenge');
    assert.deepEqual(await twoStep.step(Buffer.alloc(0)), { kind: 'success', user: 'alice@example.org' });
  });

  test('fails without a certificate user, for another authzid, and for a user not here', async () => {
    const mech = externalMechanism(await credentials());
    assert.equal(mech.available(secure), false);
    assert.equal((await mech.start(secure).step(Buffer.alloc(0))).kind, 'failure');
    assert.equal((await mech.start(withCert).step(b('bob'))).kind, 'failure');
    const stranger: SaslContext = { remoteAddress: 'x', secure: true, tls: { clientCertUser: 'mallory' } };
    assert.equal((await mech.start(stranger).step(Buffer.alloc(0))).kind, 'failure');
  });
});
