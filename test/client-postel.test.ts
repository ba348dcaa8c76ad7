import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  Pop3AuthError,
  Pop3Client,
  Pop3InUseError,
  Pop3LoginDelayError,
  Pop3ServerError,
  Pop3TlsError,
  type Pop3ClientOptions,
  type SaslMechanismName,
} from '../src/client/index.js';
import { waitFor } from './support/wait-for.js';
import { runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';
import { crlf } from './support/wire-client.js';

/*
 * The client library against postel's own server: TLS both ways (STLS and implicit), every
 * SASL mechanism both implement, APOP, the transaction commands, pipelining, the response
 * codes [IN-USE] and [LOGIN-DELAY], and backpressure on a large message.
 */

const ISSUER = 'https://issuer.test';
const AUDIENCE = 'postel-client-test';
const TRICKY = 'Subject: tricky\n\n.\n..\n.leading dot\nFrom start\ncaf\u00e9\n' + 'x'.repeat(3000) + '\nlast\n';

async function drain(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('client against postel serve (TLS and SASL)', () => {
  let dir: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  let ca: string;
  let token: (claims?: Record<string, unknown>) => string;

  before(async () => {
    dir = await tempDataDir('');
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await writeFile(join(dir.dir, 'jwks.json'), JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    token = (claims = {}) => {
      const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const signed = `${b64({ alg: 'ES256', typ: 'JWT', kid: 'k1' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'alice', email: 'alice', iat: now, exp: now + 600, ...claims })}`;
      return `${signed}.${sign('sha256', Buffer.from(signed), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
    };
    // Nothing is trusted: password logins need TLS, so the client's TLS paths are what work.
    await writeFile(
      dir.config,
      `data_dir = ${JSON.stringify(join(dir.dir, 'data'))}
[pop3]
max_auth_failures = 50
apop = true
[auth]
trusted_networks = []
max_failures_per_ip = 1000
failure_response_ms = 0
max_user_delay = 0
[sasl]
mechanisms = ["SCRAM-SHA-256", "PLAIN", "LOGIN", "CRAM-MD5", "OAUTHBEARER", "XOAUTH2"]
scram_iterations = 4096
[oauth]
issuer = ${JSON.stringify(ISSUER)}
audience = [${JSON.stringify(AUDIENCE)}]
keys_file = ${JSON.stringify(join(dir.dir, 'jwks.json'))}
`,
    );
    assert.equal((await runCli(['user', 'add', 'alice', '--password-stdin', '--config', dir.config], 'alice-pw\n')).code, 0);
    assert.equal((await runCli(['user', 'add', 'carol', '--password-stdin', '--scheme', 'PLAIN', '--config', dir.config], 'carol-pw\n')).code, 0);
    await writeFile(join(dir.dir, 'tricky.eml'), TRICKY);
    await writeFile(join(dir.dir, 'two.eml'), 'Subject: two\n\nsecond\n');
    for (const user of ['alice', 'carol']) {
      assert.equal((await runCli(['deliver', user, join(dir.dir, 'tricky.eml'), join(dir.dir, 'two.eml'), '--config', dir.config])).code, 0);
    }
    server = await startServerProcess(['--config', dir.config]);
    ca = await readFile(join(dir.dir, 'data', 'tls', 'self-signed-cert.pem'), 'utf8');
  });
  after(async () => {
    await server?.stop();
    await dir?.cleanup();
  });

  const stls = (extra: Partial<Pop3ClientOptions> = {}): Promise<Pop3Client> =>
    Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'starttls', tlsOptions: { ca }, timeoutMs: 10_000, ...extra });
  const pop3s = (extra: Partial<Pop3ClientOptions> = {}): Promise<Pop3Client> =>
    Pop3Client.connect({ host: '127.0.0.1', port: server.tlsPort as number, tls: 'tls', tlsOptions: { ca }, timeoutMs: 10_000, ...extra });

  test('STLS: upgraded, capabilities asked again, USER/PASS, byte-exact RETR', async () => {
    const client = await stls();
    assert.equal(client.secure, true);
    assert.ok(client.capabilities.stls === false, 'STLS is not offered again once TLS is on');
    assert.ok(client.capabilities.sasl.includes('PLAIN'), `SASL after STLS: ${client.capabilities.sasl.join(' ')}`);
    await client.login('alice', 'alice-pw');
    assert.equal(client.state, 'transaction');
    assert.deepEqual(await drain(await client.retr(1)), crlf(TRICKY));
    await client.quit();
  });

  test('implicit TLS (pop3s), and the certificate is checked unless opted out', async () => {
    const client = await pop3s();
    assert.equal(client.secure, true);
    await client.login('alice', 'alice-pw');
    await client.quit();
    await assert.rejects(Pop3Client.connect({ host: '127.0.0.1', port: server.tlsPort as number, tls: 'tls', timeoutMs: 10_000 }), (err: unknown) => {
      assert.ok(err instanceof Pop3TlsError, String(err));
      assert.match(err.message, /self-signed|certificate/);
      assert.equal(err.temporary, false);
      return true;
    });
    const insecure = await Pop3Client.connect({ host: '127.0.0.1', port: server.tlsPort as number, tls: 'tls', tlsOptions: { rejectUnauthorized: false }, timeoutMs: 10_000 });
    await insecure.login('alice', 'alice-pw');
    await insecure.quit();
    await assert.rejects(stls({ tlsOptions: { ca, servername: 'not-this-host.example' } }), Pop3TlsError, 'a name the certificate does not carry fails');
  });

  test('without TLS the server refuses the password, and the client reports it as [AUTH]', async () => {
    const client = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'none', timeoutMs: 10_000 });
    assert.equal(client.secure, false);
    await assert.rejects(client.login('alice', 'alice-pw'), Pop3AuthError);
    await client.quit();
  });

  for (const [mechanism, user, password] of [
    ['SCRAM-SHA-256', 'alice', 'alice-pw'],
    ['PLAIN', 'alice', 'alice-pw'],
    ['LOGIN', 'alice', 'alice-pw'],
    ['CRAM-MD5', 'carol', 'carol-pw'],
  ] as const) {
    test(`AUTH ${mechanism}: accepted with the right password, [AUTH] with a wrong one`, async () => {
      const client = await pop3s();
      await assert.rejects(client.authenticate(mechanism, { user, secret: 'wrong' }), (err: unknown) => {
        assert.ok(err instanceof Pop3AuthError, String(err));
        assert.equal(err.code, 'AUTH');
        return true;
      });
      await client.authenticate(mechanism, { user, secret: password });
      assert.equal((await client.stat()).count, 2);
      await client.quit();
    });
  }

  for (const mechanism of ['XOAUTH2', 'OAUTHBEARER'] as const satisfies readonly SaslMechanismName[]) {
    test(`AUTH ${mechanism}: a short token inline, a 4 KB one in the two-step form, a bad one refused`, async () => {
      for (const jwt of [token(), token({ padding: 'p'.repeat(4000) })]) {
        const client = await pop3s();
        await client.authenticate(mechanism, { user: 'alice', secret: jwt });
        assert.equal((await client.stat()).count, 2);
        await client.quit();
      }
      const client = await pop3s();
      await assert.rejects(client.authenticate(mechanism, { user: 'alice', secret: token({ aud: 'someone-else' }) }), Pop3AuthError);
      await client.quit();
    });
  }

  test('APOP', async () => {
    const client = await stls();
    assert.ok(client.apopTimestamp, `greeting without timestamp: ${client.greeting}`);
    await client.apop('carol', 'carol-pw');
    assert.equal((await client.stat()).count, 2);
    await client.quit();
  });

  test('transaction commands: STAT, LIST, UIDL, TOP, pipelined RETRs, DELE, RSET, NOOP', async () => {
    const client = await pop3s();
    await client.login('carol', 'carol-pw');
    assert.equal(client.pipelining, true);
    const [stat, list, uidl, one] = await Promise.all([client.stat(), client.list(), client.uidl(), client.list(1)]);
    assert.equal(stat.count, 2);
    assert.deepEqual(list.map((e) => e.number), [1, 2]);
    assert.equal(list[0]?.size, crlf(TRICKY).length);
    assert.deepEqual(one, list[0]);
    assert.equal(uidl.length, 2);
    assert.deepEqual(await client.uidl(2), uidl[1]);
    const top = await drain(await client.top(1, 2));
    assert.equal(top.toString('latin1'), 'Subject: tricky\r\n\r\n.\r\n..\r\n');
    // Three RETRs sent at once, read in order.
    const bodies = await Promise.all([client.retr(2), client.retr(1), client.retr(2)].map(async (p) => drain(await p)));
    assert.deepEqual(bodies, [crlf('Subject: two\n\nsecond\n'), crlf(TRICKY), crlf('Subject: two\n\nsecond\n')]);
    await client.dele(1);
    await assert.rejects(client.retr(1), Pop3ServerError, 'a deleted message cannot be retrieved');
    await client.rset();
    await client.noop();
    assert.equal((await client.stat()).count, 2, 'RSET undeleted it');
    await client.quit();
  });

  test('[IN-USE]: a second session of a maildrop gets a typed, temporary error', async () => {
    const first = await pop3s();
    await first.login('alice', 'alice-pw');
    const second = await pop3s();
    await assert.rejects(second.login('alice', 'alice-pw'), (err: unknown) => {
      assert.ok(err instanceof Pop3InUseError, String(err));
      assert.equal(err.code, 'IN-USE');
      assert.equal(err.temporary, true);
      return true;
    });
    await second.quit();
    await first.quit();
  });
});

describe('client against the in-process server', () => {
  let server: TestServer;
  before(async () => {
    server = await startPop3TestServer({ policy: { loginDelaySeconds: 60 } });
  });
  after(async () => {
    await server?.stop();
  });
  const plain = (): Promise<Pop3Client> => Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'none', timeoutMs: 10_000 });

  test('[LOGIN-DELAY]: typed, temporary, with the delay from CAPA', async () => {
    const first = await plain();
    assert.equal(first.capabilities.loginDelaySeconds, 60);
    await first.login('alice', 'secret');
    await first.quit();
    const second = await plain();
    await assert.rejects(second.login('alice', 'secret'), (err: unknown) => {
      assert.ok(err instanceof Pop3LoginDelayError, String(err));
      assert.equal(err.code, 'LOGIN-DELAY');
      assert.equal(err.delaySeconds, 60);
      assert.equal(err.temporary, true);
      return true;
    });
    await second.quit();
  });

  test('backpressure: an unread RETR stream stops the reading, memory does not follow the message size', async () => {
    const big = Buffer.alloc(24 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789.\n');
    await server.store.deliver('bob', Buffer.concat([Buffer.from('Subject: big\n\n'), big]));
    await server.users.add('bob', 'bob-pw', { cost: { ln: 4 } });
    const client = await plain();
    await client.login('bob', 'bob-pw');
    const stream = await client.retr(1);
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    assert.equal(first.done, false);
    // Wait until the reading has stopped (two equal counts 100 ms apart, bounded).
    let settled = -1;
    await waitFor(async () => {
      const before = client.bytesReceived;
      await new Promise((r) => setTimeout(r, 100));
      settled = client.bytesReceived;
      return settled === before ? true : undefined;
    }, 'the client to stop reading');
    assert.ok(settled < 8 * 1024 * 1024, `read ${settled} octets of a ${big.length}-octet message nobody consumed`);
    let total = (first.value as Buffer).length;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) total += (next.value as Buffer).length;
    assert.equal(total, crlf(Buffer.concat([Buffer.from('Subject: big\n\n'), big])).length);
    await client.quit();
  });
});
