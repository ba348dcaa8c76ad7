import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTransport } from 'nodemailer';
import { Pop3Client } from '../src/client/index.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { api, SchemaChecker } from './support/http-api.js';
import { RawPeer } from './support/raw-peer.js';

// The endpoints the web console needs beyond the rest of the API: failed logins, session
// counters, the server's ports, certificates and store, the auth-failure series, and the
// challenge of a 401 to a script.

describe('HTTP API for the console', () => {
  let server: TestServer;
  let schema: SchemaChecker;

  before(async () => {
    server = await startTestServer({ users: { bob: 'bob-pw', ann: 'ann-pw' } });
    schema = await SchemaChecker.of(server);
  });
  after(() => server.close());

  it('GET /api/v1/auth/failures lists failed logins of every door, newest first, with the name as typed (admin only)', async () => {
    const pop3 = await RawPeer.connect(server.pop3.port);
    await pop3.until(/^\+OK.*\r\n/);
    pop3.send('USER Bob.Typo\r\nPASS nope\r\n');
    await pop3.until(/-ERR.*\r\n$/);
    pop3.close();
    const smtp = createTransport({ host: server.submission.host, port: server.submission.port, ignoreTLS: true, auth: { user: 'ann', pass: 'wrong' } });
    await assert.rejects(smtp.verify());
    smtp.close();
    assert.equal((await api(server, 'GET', '/api/v1/users', { auth: { basic: ['Carol', 'nope'] } })).status, 401);

    const r = await api(server, 'GET', '/api/v1/auth/failures');
    assert.equal(r.status, 200, r.text);
    schema.check('GET', '/api/v1/auth/failures', 200, r.json);
    const failures = (r.json as { failures: { at: string; address: string; user: string | null; door: string; blocked: boolean }[] }).failures;
    assert.deepEqual(
      failures.slice(0, 3).map((f) => [f.door, f.user, f.address, f.blocked]),
      [
        ['http', 'Carol', '127.0.0.1', false],
        ['smtp', 'ann', '127.0.0.1', false],
        ['pop3', 'Bob.Typo', '127.0.0.1', false],
      ],
    );
    assert.ok(failures.every((f, i) => i === 0 || Date.parse(f.at) <= Date.parse(failures[i - 1]?.at ?? '')), 'newest first');
    assert.equal((await api(server, 'GET', '/api/v1/auth/failures', { auth: { basic: ['bob', 'bob-pw'] } })).status, 403);
  });

  it('GET /api/v1/sessions counts the octets and commands of a live POP3 and SMTP session exactly', async () => {
    const pop3 = await RawPeer.connect(server.pop3.port);
    const smtp = await RawPeer.connect(server.smtp.port);
    try {
      await pop3.until(/^\+OK.*\r\n/);
      pop3.send('USER bob\r\nPASS bob-pw\r\nSTAT\r\nNOOP\r\n');
      await pop3.until(/(\+OK.*\r\n){5}$/);
      await smtp.until(/^220 .*\r\n/);
      smtp.send('EHLO client.example\r\n');
      await smtp.until(/\r\n250 [^\r\n]*\r\n$/);
      smtp.send('NOOP\r\n');
      await smtp.until(/\r\n250 [^\r\n]*\r\n250 [^\r\n]*\r\n$/);
      const r = await api(server, 'GET', '/api/v1/sessions');
      assert.equal(r.status, 200, r.text);
      schema.check('GET', '/api/v1/sessions', 200, r.json);
      type S = { protocol: string; user: string | null; bytesIn: number; bytesOut: number; commands: number };
      const sessions = (r.json as { sessions: S[] }).sessions;
      const p = sessions.find((s) => s.protocol === 'pop3' && s.user === 'bob');
      assert.deepEqual({ in: p?.bytesIn, out: p?.bytesOut, commands: p?.commands }, { in: pop3.sent, out: pop3.receivedBytes, commands: 4 });
      const s = sessions.filter((x) => x.protocol === 'smtp');
      assert.equal(s.length, 1);
      assert.deepEqual({ in: s[0]?.bytesIn, out: s[0]?.bytesOut, commands: s[0]?.commands }, { in: smtp.sent, out: smtp.receivedBytes, commands: 2 });
    } finally {
      pop3.close();
      smtp.close();
    }
  });

  it('GET /api/v1/server gives the listening ports, the certificate names and expiry, the store kind and size', async () => {
    await server.deliver('ann', 'Subject: a\r\n\r\n12345\r\n');
    await server.deliver('ann', 'Subject: b\r\n\r\n1234567890\r\n');
    const r = await api(server, 'GET', '/api/v1/server');
    assert.equal(r.status, 200, r.text);
    schema.check('GET', '/api/v1/server', 200, r.json);
    type Info = { listening: { service: string; port: number | null; tls: string }[]; certificates: { names: string[]; validTo: string; default: boolean; fingerprint256: string }[]; store: { kind: string; bytes: number; mailboxes: number }; chaosEnabled: boolean };
    const info = r.json as Info;
    const port = (service: string): number | null | undefined => info.listening.find((l) => l.service === service)?.port;
    assert.equal(port('pop3'), server.pop3.port);
    assert.equal(port('pop3s'), server.pop3.tlsPort);
    assert.equal(port('smtp'), server.smtp.port);
    assert.equal(port('submission'), server.submission.port);
    assert.equal(port('lmtp'), server.lmtp.port);
    assert.equal(port('http'), Number(new URL(server.http.url).port));
    assert.equal(info.listening.find((l) => l.service === 'pop3s')?.tls, 'implicit');
    // The certificate, read by openssl rather than by node.
    const pem = join(server.dataDir, 'tls', 'self-signed-cert.pem');
    const end = execFileSync('openssl', ['x509', '-in', pem, '-noout', '-enddate'], { encoding: 'utf8' }).trim().replace(/^notAfter=/, '');
    const fingerprint = execFileSync('openssl', ['x509', '-in', pem, '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' }).trim().replace(/^.*=/, '');
    const sans = execFileSync('openssl', ['x509', '-in', pem, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    assert.equal(info.certificates.length, 1);
    assert.equal(info.certificates[0]?.default, true);
    assert.equal(info.certificates[0]?.validTo, new Date(end).toISOString());
    assert.equal(info.certificates[0]?.fingerprint256, fingerprint);
    assert.deepEqual(info.certificates[0]?.names, [...sans.matchAll(/DNS:([^,\s]+)/g)].map((m) => (m[1] ?? '').toLowerCase()));
    // Two users; bob has nothing stored, ann the two messages above (Maildir keeps LF line ends).
    assert.deepEqual(info.store, { kind: 'maildir', bytes: 'Subject: a\n\n12345\n'.length + 'Subject: b\n\n1234567890\n'.length, mailboxes: 2 });
    assert.equal(info.chaosEnabled, true);
    assert.equal((await api(server, 'GET', '/api/v1/server', { auth: { basic: ['bob', 'bob-pw'] } })).status, 403);
  });

  it('the history counts auth failures as a series of their own', async () => {
    const history = server.services.http?.history;
    assert.ok(history);
    const first = await history.sample();
    for (const pass of ['x', 'y']) {
      const client = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
      await assert.rejects(client.login('bob', pass));
      await client.quit().catch(() => undefined);
    }
    assert.equal((await api(server, 'GET', '/api/v1/users', { auth: { basic: ['bob', 'z'] } })).status, 401);
    const second = await history.sample();
    assert.equal((second.values.postel_auth_failures_total ?? 0) - (first.values.postel_auth_failures_total ?? 0), 3);
  });

  it('a 401 challenges for Basic, except to a script that says so (no browser login dialog over the console)', async () => {
    const plain = await fetch(`${server.http.url}/api/v1/users`);
    assert.equal(plain.status, 401);
    assert.equal(plain.headers.get('www-authenticate'), 'Basic realm="postel", charset="UTF-8", Bearer realm="postel"');
    const script = await fetch(`${server.http.url}/api/v1/users`, { headers: { 'x-requested-with': 'XMLHttpRequest', authorization: 'Basic Ym9iOm5vcGU=' } });
    assert.equal(script.status, 401);
    assert.equal(script.headers.get('www-authenticate'), 'Bearer realm="postel"', 'a challenge is still there (RFC 9110), but not Basic');
  });
});
