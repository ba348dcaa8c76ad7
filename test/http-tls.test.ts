import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { run } from './support/server-process.js';

/*
 * The HTTP API over HTTPS with the POP3 certificates. Tests may only talk to loopback, where
 * HTTPS is off by default, so `[http] tls = true` forces it on 127.0.0.1; curl checks the
 * certificate against the server's self-signed one (--cacert). With trusted_networks empty,
 * 127.0.0.1 counts as an untrusted network: Basic logins need TLS there.
 */

async function curl(args: readonly string[]): Promise<{ code: number | null; status: number; body: string; stderr: string }> {
  const r = await run('curl', ['-sS', '--max-time', '20', '-o', '-', '-w', '\n%{http_code}', ...args]);
  const out = r.stdout.toString();
  const cut = out.lastIndexOf('\n');
  return { code: r.code, status: Number(out.slice(cut + 1)), body: out.slice(0, cut), stderr: r.stderr };
}

describe('HTTPS for the HTTP API', () => {
  let tls: TestServer;
  let plain: TestServer;
  let cert: string;
  let port: number;

  before(async () => {
    const untrusted = { auth: { trusted_networks: [] } };
    tls = await startTestServer({ users: { alice: 'alice-pw' }, config: { ...untrusted, http: { tls: true } } });
    plain = await startTestServer({ users: { alice: 'alice-pw' }, config: untrusted });
    cert = join(tls.dataDir, 'tls', 'self-signed-cert.pem');
    port = Number(new URL(tls.http.url).port);
    await tls.deliver('alice', 'Subject: over TLS\r\n\r\nhello\r\n');
  });
  after(async () => {
    await tls?.close();
    await plain?.close();
  });

  const at = (path: string): string[] => ['--resolve', `localhost:${port}:127.0.0.1`, `https://localhost:${port}${path}`];

  it('serves HTTPS on 127.0.0.1 with [http] tls = true, with the POP3 certificate', async () => {
    assert.match(tls.http.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const live = await curl(['--cacert', cert, ...at('/livez')]);
    assert.equal(live.status, 200, live.stderr);
    assert.deepEqual(JSON.parse(live.body), { status: 'ok' });
    // Without the certificate to trust, curl refuses the connection (60: peer certificate).
    const untrusted = await curl(at('/livez'));
    assert.equal(untrusted.code, 60, untrusted.stderr);
  });

  it('takes a user\'s Basic login over TLS from an untrusted network', async () => {
    const r = await curl(['--cacert', cert, '-u', 'alice:alice-pw', ...at('/api/v1/mailboxes/alice/messages')]);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual((JSON.parse(r.body) as { messages: { subject: string }[] }).messages.map((m) => m.subject), ['over TLS']);
    const wrong = await curl(['--cacert', cert, '-u', 'alice:wrong', ...at('/api/v1/mailboxes/alice/messages')]);
    assert.equal(wrong.status, 401);
  });

  it('refuses Basic over plaintext from an untrusted network with 403, before looking at the password', async () => {
    for (const password of ['alice-pw', 'wrong']) {
      const r = await curl(['-u', `alice:${password}`, `${plain.http.url}/api/v1/mailboxes/alice/messages`]);
      assert.equal(r.status, 403, r.body);
      assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, 'plaintext_refused');
    }
    // The admin token is no password: it works over plain HTTP on loopback.
    const admin = await curl(['-H', `Authorization: Bearer ${plain.http.token}`, `${plain.http.url}/api/v1/mailboxes/alice/messages`]);
    assert.equal(admin.status, 200, admin.body);
  });
});
