import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import { cramMd5Mechanism } from './cram-md5.js';
import { loginMechanism } from './login.js';
import { MemoryCredentials } from './memory-credentials.fixture.js';
import { plainMechanism } from './plain.js';
import type { SaslContext, SaslStep } from './types.js';

const secure: SaslContext = { remoteAddress: '192.0.2.1', secure: true };
const insecure: SaslContext = { remoteAddress: '192.0.2.1', secure: false };
const SECRET = Buffer.alloc(32, 3);

function credentials(): Promise<MemoryCredentials> {
  return MemoryCredentials.create({
    alice: { password: 'wonderland' },
    tim: { password: 'tanstaaftanstaaf', plaintext: true },
    'bob@example.org': { password: 'pässwörd' },
  });
}

function b(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function challengeText(step: SaslStep): string {
  assert.equal(step.kind, 'challenge', JSON.stringify(step));
  return step.kind === 'challenge' ? step.data.toString('utf8') : '';
}

describe('PLAIN', () => {
  test('authcid and password, with an empty authzid or the same user', async () => {
    const mech = plainMechanism(await credentials());
    assert.deepEqual(await mech.start(secure).step(b('\0alice\0wonderland')), { kind: 'success', user: 'alice' });
    assert.deepEqual(await mech.start(secure).step(b('alice\0alice\0wonderland')), { kind: 'success', user: 'alice' });
    assert.deepEqual(await mech.start(secure).step(b('\0bob@example.org\0pässwörd')), { kind: 'success', user: 'bob@example.org' });
    // The same user spelled with another case of the domain is the same user.
    assert.deepEqual(await mech.start(secure).step(b('bob@EXAMPLE.org\0bob@example.org\0pässwörd')), { kind: 'success', user: 'bob@example.org' });
  });

  test('without an initial response, an empty challenge comes first', async () => {
    const exchange = plainMechanism(await credentials()).start(secure);
    assert.equal(challengeText(await exchange.step(undefined)), '');
    assert.equal((await exchange.step(b('\0alice\0wonderland'))).kind, 'success');
  });

  test('an empty initial response is a malformed message, not a request for a challenge', async () => {
    assert.equal((await plainMechanism(await credentials()).start(secure).step(Buffer.alloc(0))).kind, 'failure');
  });

  test('refuses wrong passwords, proxy authorization and malformed messages', async () => {
    const creds = await credentials();
    const mech = plainMechanism(creds);
    const cases: [string, RegExp][] = [
      ['\0alice\0wrong', /wrong password/],
      ['\0nobody\0wonderland', /unknown user/],
      ['admin\0alice\0wonderland', /authzid/],
      ['alice\0wonderland', /three/],
      ['\0alice\0wonderland\0', /three/],
      ['\0\0wonderland', /empty/],
      ['\0alice\0', /empty/],
    ];
    for (const [message, reason] of cases) {
      const step = await mech.start(secure).step(b(message));
      assert.ok(step.kind === 'failure', message);
      assert.match(step.reason, reason, message);
    }
    assert.equal((await mech.start(secure).step(Buffer.from([0, 0x61, 0, 0xc3]))).kind, 'failure', 'bad UTF-8');
    // Proxy authorization is refused before any password is checked.
    assert.ok(!creds.calls.includes('verifyPassword admin'));
  });

  test('refuses to run on an insecure connection even if offered by mistake', async () => {
    const creds = await credentials();
    const step = await plainMechanism(creds).start(insecure).step(b('\0alice\0wonderland'));
    assert.equal(step.kind, 'failure');
    assert.deepEqual(creds.calls, [], 'the password was not even checked');
  });

  test('is marked as exposing the password', async () => {
    assert.equal(plainMechanism(await credentials()).exposesPassword, true);
  });
});

describe('LOGIN', () => {
  test('asks Username: then Password:', async () => {
    const exchange = loginMechanism(await credentials()).start(secure);
    assert.equal(challengeText(await exchange.step(undefined)), 'Username:');
    assert.equal(challengeText(await exchange.step(b('alice'))), 'Password:');
    assert.deepEqual(await exchange.step(b('wonderland')), { kind: 'success', user: 'alice' });
    assert.equal((await exchange.step(b('again'))).kind, 'failure', 'finished');
  });

  test('takes the user name as an initial response', async () => {
    const exchange = loginMechanism(await credentials()).start(secure);
    assert.equal(challengeText(await exchange.step(b('alice'))), 'Password:');
    assert.deepEqual(await exchange.step(b('wonderland')), { kind: 'success', user: 'alice' });
  });

  test('fails on a wrong password, an empty answer, or an insecure connection', async () => {
    const mech = loginMechanism(await credentials());
    const wrong = mech.start(secure);
    await wrong.step(b('alice'));
    const outcome = await wrong.step(b('wrong'));
    assert.ok(outcome.kind === 'failure');
    assert.equal(outcome.user, 'alice');

    const empty = mech.start(secure);
    await empty.step(undefined);
    assert.equal((await empty.step(Buffer.alloc(0))).kind, 'failure');

    assert.equal((await mech.start(insecure).step(undefined)).kind, 'failure');
  });
});

describe('CRAM-MD5', () => {
  const RFC_CHALLENGE = '<1896.697170952@postoffice.reston.mci.net>';

  test('RFC 2195 example', async () => {
    const mech = cramMd5Mechanism({ credentials: await credentials(), secret: SECRET, challenge: () => RFC_CHALLENGE });
    const exchange = mech.start(insecure);
    assert.equal(challengeText(await exchange.step(undefined)), RFC_CHALLENGE);
    assert.deepEqual(await exchange.step(b('tim b913a602c7eda7a495b4e6e7334d3890')), { kind: 'success', user: 'tim' });
  });

  test('challenges look like <random.time@host> and differ each time', async () => {
    const mech = cramMd5Mechanism({ credentials: await credentials(), secret: SECRET, hostname: 'pop.example.org' });
    const one = challengeText(await mech.start(secure).step(undefined));
    const two = challengeText(await mech.start(secure).step(undefined));
    assert.match(one, /^<\d+\.\d+@pop\.example\.org>$/);
    assert.notEqual(one, two);
    const exchange = mech.start(secure);
    const challenge = challengeText(await exchange.step(Buffer.alloc(0)));
    const digest = createHmac('md5', 'tanstaaftanstaaf').update(challenge).digest('hex').toUpperCase();
    assert.deepEqual(await exchange.step(b(`tim ${digest}`)), { kind: 'success', user: 'tim' }, 'uppercase hex is accepted');
  });

  test('fails for a wrong digest, users without a plaintext secret, unknown users and junk', async () => {
    const creds = await credentials();
    const mech = cramMd5Mechanism({ credentials: creds, secret: SECRET, challenge: () => RFC_CHALLENGE });
    // alice's secret is hashed: even the right digest cannot be checked.
    const aliceDigest = createHmac('md5', 'wonderland').update(RFC_CHALLENGE).digest('hex');
    for (const response of ['tim b913a602c7eda7a495b4e6e7334d3891', `alice ${aliceDigest}`, 'nobody b913a602c7eda7a495b4e6e7334d3890', 'tim', 'tim xyz', '']) {
      const exchange = mech.start(secure);
      await exchange.step(undefined);
      assert.equal((await exchange.step(b(response))).kind, 'failure', response);
    }
    assert.equal((await mech.start(secure).step(b('tim 0123'))).kind, 'failure', 'no initial response in CRAM-MD5');
  });
});
