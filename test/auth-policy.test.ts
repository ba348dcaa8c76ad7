import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { JwtValidator, staticKeySource } from '../src/auth/oauth/index.js';
import { xoauth2Mechanism } from '../src/auth/sasl/oauth-mechanisms.js';
import { UsersCredentials } from '../src/auth/sasl/users-credentials.js';
import { SmtpTestClient } from './support/smtp-client.js';
import { startSmtpHarness } from './support/smtp-harness.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';
import { WireClient } from './support/wire-client.js';

/*
 * The one AuthPolicy over real sockets: POP3 (USER/PASS, AUTH) and submission AUTH share a
 * failure budget per address, a delay per user, and nobody can lock a user out. The policy's
 * waits are recorded instead of slept (no timings in tests); the unit tests of
 * src/auth/policy.ts check the arithmetic on a fake clock.
 */

const plain = (user: string, password: string): string => Buffer.from(`\0${user}\0${password}`).toString('base64');

/** A POP3 connection that claims `address` through a PROXY v1 header (the proxy is loopback). */
async function from(t: TestServer, address: string): Promise<WireClient> {
  const c = await WireClient.connect(t.port);
  c.send(`PROXY TCP4 ${address} 127.0.0.1 40000 110\r\n`);
  assert.match(await c.line(), /^\+OK/);
  return c;
}

async function pass(t: TestServer, address: string, user: string, password: string): Promise<string> {
  const c = await from(t, address);
  await c.command(`USER ${user}`);
  const answer = await c.command(`PASS ${password}`);
  c.close();
  return answer;
}

describe('one AuthPolicy for POP3 and submission', () => {
  it('nobody can lock a user out: the right password gets in at once from a known address, after the capped delay from a new one', async () => {
    // Addresses outside trusted_networks, so that they are judged as Internet clients.
    const t = await startPop3TestServer({ proxyProtocol: true, trustedNetworks: [], tls: false, authPolicy: { maxFailuresPerIp: 3, maxUserDelayMs: 15_000 }, policy: { disablePlaintextAuth: false } });
    try {
      assert.match(await pass(t, '198.51.100.1', 'alice', 'secret'), /^\+OK/);
      // 45 guesses from 15 addresses: each stays within its own budget.
      for (let a = 1; a <= 15; a++) {
        for (let i = 0; i < 3; i++) assert.equal(await pass(t, `203.0.113.${a}`, 'alice', `guess${i}`), '-ERR [AUTH] Authentication failed');
      }
      t.authWaits.length = 0;
      assert.match(await pass(t, '198.51.100.1', 'alice', 'secret'), /^\+OK alice's maildrop/);
      assert.deepEqual(t.authWaits, [], 'no wait at all from the known address');
      assert.match(await pass(t, '192.0.2.50', 'alice', 'secret'), /^\+OK alice's maildrop/, 'a new address is delayed, not refused');
      const waits: readonly number[] = t.authWaits;
      assert.equal(waits.length, 1);
      assert.equal(waits[0], 15_000, 'the capped delay');
    } finally {
      await t.stop();
    }
  });

  it('an address is blocked after max_failures_per_ip, for the right password too', async () => {
    const t = await startPop3TestServer({ proxyProtocol: true, authPolicy: { maxFailuresPerIp: 2 }, policy: { maxAuthFailures: 10 } });
    try {
      const c = await from(t, '127.0.0.9');
      for (let i = 0; i < 2; i++) {
        await c.command('USER alice');
        assert.equal(await c.command('PASS wrong'), '-ERR [AUTH] Authentication failed');
      }
      await c.command('USER alice');
      assert.equal(await c.command('PASS secret'), '-ERR [SYS/TEMP] Too many failed logins; try again later');
      c.close();
      const blocked = t.logs.find((l) => l.event === 'auth_blocked');
      assert.equal(blocked?.remote, '127.0.0.9');
      assert.match(await pass(t, '127.0.0.10', 'alice', 'secret'), /^\+OK/, 'another address is not affected');
    } finally {
      await t.stop();
    }
  });

  it('failures on submission spend the budget POP3 logins are judged by', async () => {
    const h = await startSmtpHarness({ authPolicy: { maxFailuresPerIp: 2 } });
    try {
      const s = await SmtpTestClient.open(h.ports.submission);
      await s.command('EHLO client.test');
      assert.equal((await s.command(`AUTH PLAIN ${plain('alice', 'wrong1')}`)).raw, '535 5.7.8 Authentication credentials invalid');
      assert.equal((await s.command(`AUTH PLAIN ${plain('bob', 'wrong2')}`)).raw, '535 5.7.8 Authentication credentials invalid');
      s.close();
      const c = await h.pop3.connect();
      await c.line();
      await c.command('USER alice');
      assert.equal(await c.command('PASS secret'), '-ERR [SYS/TEMP] Too many failed logins; try again later');
      c.close();
    } finally {
      await h.stop();
    }
  });

  it('failures on POP3 spend the budget submission logins are judged by', async () => {
    const h = await startSmtpHarness({ authPolicy: { maxFailuresPerIp: 2 } });
    try {
      const c = await h.pop3.connect();
      await c.line();
      for (const guess of ['wrong1', 'wrong2']) {
        await c.command('USER alice');
        assert.equal(await c.command(`PASS ${guess}`), '-ERR [AUTH] Authentication failed');
      }
      c.close();
      const s = await SmtpTestClient.open(h.ports.submission);
      await s.command('EHLO client.test');
      assert.equal((await s.command(`AUTH PLAIN ${plain('alice', 'secret')}`)).raw, '454 4.7.0 Too many failed logins; try again later');
      s.close();
    } finally {
      await h.stop();
    }
  });

  it('submission failures are answered after the same floor and delays as POP3 ones', async () => {
    const h = await startSmtpHarness({ authPolicy: { failureResponseMs: 2000, maxUserDelayMs: 15_000 } });
    try {
      const s = await SmtpTestClient.open(h.ports.submission);
      await s.command('EHLO client.test');
      await s.command(`AUTH PLAIN ${plain('alice', 'wrong')}`);
      await s.command(`AUTH PLAIN ${plain('nobody', 'wrong')}`);
      s.close();
      // First failure: the floor. Second: floor + 1 s for the address's earlier failure.
      assert.equal(h.pop3.authWaits.length, 2);
      const [first = 0, second = 0] = h.pop3.authWaits;
      assert.equal(first, 2000);
      assert.equal(second, 3000);
    } finally {
      await h.stop();
    }
  });
});

describe('submission AUTH XOAUTH2 through the shared OAuth validator', () => {
  const ISSUER = 'https://id.example.test';
  const AUDIENCE = 'mail.example.test';
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const token = (claims: Record<string, unknown> = {}): string => {
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', iat: now, exp: now + 600, ...claims })}`;
    return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
  };
  const xoauth2 = (user: string, bearer: string): string => Buffer.from(`user=${user}\x01auth=Bearer ${bearer}\x01\x01`).toString('base64');

  it('a valid token logs in; a refused one gets the JSON challenge, then 535, and counts as a failure of the shared budget', async () => {
    const validator = new JwtValidator({ keys: staticKeySource([{ key: publicKey }]), issuer: ISSUER, audience: AUDIENCE, userClaims: ['sub'] });
    const h = await startSmtpHarness({
      authPolicy: { maxFailuresPerIp: 2, failureResponseMs: 2000 },
      xoauth2: (users) => xoauth2Mechanism({ credentials: new UsersCredentials(users), validator }),
    });
    try {
      const s = await SmtpTestClient.open(h.ports.submission);
      const ehlo = await s.command('EHLO client.test');
      assert.match(ehlo.text, /^AUTH PLAIN LOGIN XOAUTH2$/m);
      const refused = await s.command(`AUTH XOAUTH2 ${xoauth2('alice', token({ aud: 'elsewhere' }))}`);
      assert.equal(refused.code, 334);
      assert.deepEqual(JSON.parse(Buffer.from(refused.text, 'base64').toString('utf8')), { status: '401', schemes: 'bearer' });
      assert.equal((await s.command('')).code, 535);
      assert.equal(h.pop3.authWaits.at(-1), 2000, 'answered at the floor, like every failure');
      s.close();
      const ok = await SmtpTestClient.open(h.ports.submission);
      await ok.command('EHLO client.test');
      assert.equal((await ok.command(`AUTH XOAUTH2 ${xoauth2('alice', token())}`)).raw, '235 2.7.0 Authentication successful');
      ok.close();
    } finally {
      await h.stop();
    }
  });
});
