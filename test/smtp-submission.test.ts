import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, createSecureContext } from 'node:tls';
import type { SmtpTls } from '../src/smtp/listener.js';
import { hasProgram, run } from './support/server-process.js';
import { SmtpTestClient, envelope, dotStuff } from './support/smtp-client.js';
import { startSmtpHarness, testMessage, type SmtpHarness } from './support/smtp-harness.js';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.js';
import { waitFor } from './support/wait-for.js';

const plain = (user: string, password: string): string => Buffer.from(`\0${user}\0${password}`).toString('base64');

/** A self-signed certificate for localhost made with the openssl CLI, as an operator would. */
async function selfSigned(dir: string): Promise<SmtpTls & { certPem: string }> {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  if (r.code !== 0) throw new Error(`openssl: ${r.stderr}`);
  const [keyPem, certPem] = await Promise.all([readFile(key, 'utf8'), readFile(cert, 'utf8')]);
  const context = createSecureContext({ key: keyPem, cert: certPem, minVersion: 'TLSv1.2' });
  return { certPem, contextFor: () => context };
}

describe('submission with STARTTLS, AUTH and a smarthost', () => {
  let h: SmtpHarness;
  let sink: SmtpSink;
  let dir: string;
  let haveOpenssl = false;
  let certPem = '';
  before(async () => {
    haveOpenssl = await hasProgram('openssl');
    if (!haveOpenssl) return;
    dir = await mkdtemp(join(tmpdir(), 'postel-tls-'));
    const tls = await selfSigned(dir);
    certPem = tls.certPem;
    sink = await startSmtpSink();
    h = await startSmtpHarness({
      users: { alice: 'secret', bob: 'secret' },
      tls,
      implicitTls: true,
      // As for a client on another network: no AUTH before STARTTLS. Users here send with
      // addresses of other domains too (the bounce below goes to one), so no sender check.
      submission: { plaintextAuthFrom: () => false, senderLoginCheck: 'off' },
      smarthost: { host: '127.0.0.1', port: sink.port, security: 'none', user: '', password: '', tlsVerify: false },
      retryIntervalsMs: [150],
    });
  });
  after(async () => {
    await h?.stop();
    await sink?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('withholds AUTH until STARTTLS and refuses MAIL without it', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    const c = await SmtpTestClient.open(h.ports.submission);
    const ehlo = await c.command('EHLO client.test');
    assert.match(ehlo.text, /^STARTTLS$/m);
    assert.doesNotMatch(ehlo.text, /AUTH/);
    assert.equal((await c.command('MAIL FROM:<alice@example.test>')).raw, '530 5.7.0 Authentication required');
    assert.equal((await c.command(`AUTH PLAIN ${plain('alice', 'secret')}`)).code, 500);
    c.close();
  });

  it('after STARTTLS: AUTH PLAIN, then local delivery with an ESMTPSA Received line naming the cipher', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    const c = await SmtpTestClient.open(h.ports.submission);
    await c.command('EHLO client.test');
    assert.equal((await c.command('STARTTLS')).code, 220);
    await c.startTls({ ca: certPem, rejectUnauthorized: true });
    const ehlo = await c.command('EHLO client.test');
    assert.match(ehlo.text, /^AUTH PLAIN LOGIN$/m);
    assert.doesNotMatch(ehlo.text, /STARTTLS/);
    assert.equal((await c.command(`AUTH PLAIN ${plain('alice', 'secret')}`)).raw, '235 2.7.0 Authentication successful');
    assert.equal((await c.command('MAIL FROM:<alice@example.test>')).code, 250);
    assert.equal((await c.command('RCPT TO:<bob@example.test>')).code, 250);
    assert.equal((await c.data(testMessage('over tls', 'secret stuff'))).code, 250);
    c.close();
    const [stored] = (await h.stored('bob')).filter((m) => m.includes('over tls'));
    assert.match(stored?.toString('utf8') ?? '', /\n\tby mx\.test \(postel\) with ESMTPSA id \S+\n\t\(using TLSv1\.[23] with cipher [A-Z0-9_-]+\)\n\t\(authenticated as alice\)\n\tfor <bob@example\.test>; /);
  });

  it('refuses bad passwords with 535 5.7.8 and closes after max_auth_failures with 421', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    const c = await SmtpTestClient.open(h.ports.submission);
    await c.command('EHLO client.test');
    await c.command('STARTTLS');
    await c.startTls();
    await c.command('EHLO client.test');
    assert.equal((await c.command(`AUTH PLAIN ${plain('alice', 'wrong')}`)).raw, '535 5.7.8 Authentication credentials invalid');
    assert.equal((await c.command(`AUTH PLAIN ${plain('nobody', 'wrong')}`)).code, 535);
    assert.equal((await c.command(`AUTH PLAIN ${plain('alice', 'wrong')}`)).raw, '421 4.7.0 Too many failed authentications, closing connection');
    assert.ok(await c.waitClosed());
  });

  it('implicit TLS (RFC 8314): AUTH at once, no STARTTLS', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    const socket = tlsConnect({ port: h.ports.submissions as number, host: '127.0.0.1', servername: 'localhost', ca: certPem });
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      socket.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.startsWith('220 ') && !got.includes('EHLO-sent')) {
          got += 'EHLO-sent';
          socket.write('EHLO client.test\r\n');
        }
        if (/\r\n250 [^\r\n]*\r\n$/.test(got)) resolve(got);
      });
      socket.on('error', reject);
    });
    socket.destroy();
    assert.match(text, /250-AUTH PLAIN LOGIN/);
    assert.doesNotMatch(text, /STARTTLS/);
  });

  it('swaks: STARTTLS and AUTH LOGIN on submission', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    if (!(await hasProgram('swaks'))) return t.skip('swaks not installed');
    const probe = await run('swaks', ['--support']);
    if (/STARTTLS:\s*not supported|TLS not available/i.test(probe.stdout.toString() + probe.stderr)) {
      return t.skip('swaks cannot do TLS here: install the Debian package libnet-ssleay-perl');
    }
    const r = await run('swaks', ['--server', `127.0.0.1:${h.ports.submission}`, '--tls', '-a', 'LOGIN', '-au', 'alice', '-ap', 'secret', '--from', 'alice@example.test', '--to', 'bob@example.test', '--header', 'Subject: swaks submission']);
    assert.equal(r.code, 0, r.stdout.toString() + r.stderr);
    assert.ok((await h.stored('bob')).some((m) => m.includes('Subject: swaks submission')));
  });

  it('smtplib: STARTTLS, login, and mail to another domain goes out through the smarthost', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    if (!(await hasProgram('python3'))) return t.skip('python3 not installed');
    const before = sink.messages.length;
    const script = String.raw`
import smtplib, ssl, sys
ctx = ssl.create_default_context(cadata=sys.argv[2])
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.starttls(context=ctx)
    s.login("alice", "secret")
    s.sendmail("alice@example.test", ["friend@remote.test"], b"Subject: to the world\r\n\r\nhello out there\r\n.dot\r\n")
print("sent")
`;
    const r = await run('python3', ['-c', script, String(h.ports.submission), certPem]);
    assert.equal(r.code, 0, r.stderr);
    await sink.waitFor(before + 1);
    const out = sink.messages[before];
    assert.equal(out?.from, 'alice@example.test');
    assert.deepEqual(out?.to, ['friend@remote.test']);
    const text = out?.data.toString('utf8') ?? '';
    assert.match(text, /^Received: from [^\r\n]+\r\n\tby mx\.test \(postel\) with ESMTPSA id /);
    assert.doesNotMatch(text, /Return-Path/, 'Return-Path is for final delivery only');
    assert.match(text, /\r\n\r\nhello out there\r\n\.dot\r\n$/);
  });

  it('retries a temporary smarthost refusal and bounces a permanent one to the local sender', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    sink.rcptReplies.set('later@remote.test', (attempt) => (attempt === 1 ? { code: 451, text: 'try again later' } : undefined));
    sink.rcptReplies.set('gone@remote.test', () => ({ code: 550, text: 'no such user' }));
    const before = sink.messages.length;
    const c = await SmtpTestClient.open(h.ports.submission);
    await c.command('EHLO client.test');
    await c.command('STARTTLS');
    await c.startTls();
    await c.command('EHLO client.test');
    await c.command(`AUTH PLAIN ${plain('alice', 'secret')}`);
    const replies = await (async () => {
      const out = [(await c.command('MAIL FROM:<alice@example.test>')).code];
      for (const to of ['later@remote.test', 'gone@remote.test']) out.push((await c.command(`RCPT TO:<${to}>`)).code);
      return out;
    })();
    assert.deepEqual(replies, [250, 250, 250]);
    assert.equal((await c.data(testMessage('partly deliverable', 'hi'))).raw, '250 2.0.0 Ok: delivered');
    c.close();
    await sink.waitFor(before + 1);
    assert.deepEqual(sink.messages[before]?.to, ['later@remote.test']);
    const bounce = await waitFor(
      async () => (await h.stored('alice')).map((m) => m.toString('utf8')).find((m) => m.includes('Undelivered Mail Returned to Sender')),
      'a bounce to reach the sender',
    );
    assert.match(bounce, /^Return-Path: <>\n/);
    assert.match(bounce, /Content-Type: multipart\/report; report-type=delivery-status/);
    assert.match(bounce, /\nFinal-Recipient: rfc822; gone@remote\.test\nAction: failed\nStatus: 5\.1\.1\nDiagnostic-Code: smtp; 550 5\.1\.1 no such user/);
    assert.match(bounce, /\nSubject: partly deliverable\n/);
    assert.doesNotMatch(bounce, /later@remote\.test/);
  });

  it('bounces to a remote sender go out through the smarthost with the null sender', async (t) => {
    if (!haveOpenssl) return t.skip('openssl not installed: cannot make a certificate');
    sink.rcptReplies.set('nope@remote.test', () => ({ code: 550, text: 'unknown' }));
    const before = sink.messages.length;
    const c = await SmtpTestClient.open(h.ports.submission);
    await c.command('EHLO client.test');
    await c.command('STARTTLS');
    await c.startTls();
    await c.command('EHLO client.test');
    await c.command(`AUTH PLAIN ${plain('alice', 'secret')}`);
    await c.command('MAIL FROM:<alice.alias@remote.test>');
    await c.command('RCPT TO:<nope@remote.test>');
    assert.equal((await c.data(testMessage('doomed', 'x'))).code, 250);
    c.close();
    await sink.waitFor(before + 1);
    const dsn = sink.messages[before];
    assert.equal(dsn?.from, '');
    assert.deepEqual(dsn?.to, ['alice.alias@remote.test']);
    assert.match(dsn?.data.toString('utf8') ?? '', /Final-Recipient: rfc822; nope@remote\.test/);
  });
});

describe('submission without TLS certificates and without a smarthost', () => {
  let h: SmtpHarness;
  before(async () => {
    h = await startSmtpHarness({ users: { alice: 'secret', bob: 'secret' } });
  });
  after(() => h?.stop());

  it('offers AUTH in plaintext to a trusted (loopback) client, never STARTTLS; relaying is refused', async () => {
    const c = await SmtpTestClient.open(h.ports.submission);
    const ehlo = await c.command('EHLO client.test');
    assert.match(ehlo.text, /^AUTH PLAIN LOGIN$/m);
    assert.doesNotMatch(ehlo.text, /STARTTLS/);
    assert.equal((await c.command('MAIL FROM:<alice@example.test>')).code, 530);
    assert.equal((await c.command('AUTH LOGIN')).code, 334);
    assert.equal((await c.command(Buffer.from('alice').toString('base64'))).code, 334);
    assert.equal((await c.command(Buffer.from('secret').toString('base64'))).code, 235);
    assert.equal((await c.command('MAIL FROM:<alice@example.test>')).code, 250);
    assert.equal((await c.command('RCPT TO:<someone@elsewhere.example>')).raw, '554 5.7.1 Relay access denied');
    assert.equal((await c.command('RCPT TO:<bob@localhost>')).code, 250);
    c.send('DATA\r\n');
    assert.equal((await c.reply()).code, 354);
    c.send(dotStuff(testMessage('plain auth', 'x')));
    assert.equal((await c.reply()).code, 250);
    c.close();
    const [stored] = (await h.stored('bob')).filter((m) => m.includes('plain auth'));
    assert.match(stored?.toString('utf8') ?? '', /with ESMTPA id/);
  });

  it('refuses a MAIL FROM the user does not own with 553 5.7.1 (RFC 6409 6.1), takes own addresses and aliases to the user alone', async () => {
    await writeFile(join(h.dataDir, 'aliases'), 'alice.smith@example.test alice\nteam@example.test alice, bob\n');
    const c = await SmtpTestClient.open(h.ports.submission);
    await c.command('EHLO client.test');
    assert.equal((await c.command(`AUTH PLAIN ${plain('alice', 'secret')}`)).code, 235);
    for (const other of ['bob@example.test', 'bob@localhost', 'ceo@elsewhere.example', 'team@example.test', 'nobody@example.test']) {
      assert.equal((await c.command(`MAIL FROM:<${other}>`)).raw, '553 5.7.1 Sender address not owned by the authenticated user', other);
    }
    for (const own of ['alice@example.test', 'ALICE@localhost', 'alice.smith@example.test', '']) {
      assert.equal((await c.command(`MAIL FROM:<${own}>`)).code, 250, own);
      assert.equal((await c.command('RSET')).code, 250);
    }
    c.close();
    assert.ok(h.logs.some((l) => l.event === 'sender_refused' && l.user === 'alice' && l.from === 'bob@example.test'));
  });

  it('sender_login_check = "off" takes any MAIL FROM from an authenticated user', async () => {
    const open = await startSmtpHarness({ users: { alice: 'secret', bob: 'secret' }, submission: { senderLoginCheck: 'off' } });
    try {
      const c = await SmtpTestClient.open(open.ports.submission);
      await c.command('EHLO client.test');
      await c.command(`AUTH PLAIN ${plain('alice', 'secret')}`);
      assert.equal((await c.command('MAIL FROM:<bob@example.test>')).code, 250);
      c.close();
    } finally {
      await open.stop();
    }
  });

  it('does not take AUTH on the SMTP port', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const ehlo = await c.command('EHLO client.test');
    assert.doesNotMatch(ehlo.text, /AUTH/);
    assert.equal((await c.command(`AUTH PLAIN ${plain('alice', 'secret')}`)).code, 500);
    c.close();
  });

  it('takes LMTP over a unix socket as well', async () => {
    const socketDir = await mkdtemp(join(tmpdir(), 'postel-lmtp-'));
    const sockH = await startSmtpHarness({ users: { alice: 'secret' }, lmtpSocket: join(socketDir, 'lmtp.sock') });
    try {
      const c = await SmtpTestClient.open(sockH.ports.lmtp);
      const [r] = await envelope(c, 'mta@remote.test', ['alice@localhost'], true);
      assert.equal(r?.code, 250);
      assert.equal((await c.data(testMessage('via socket', 'x'))).raw, '250 2.0.0 <alice@localhost> Ok: delivered');
      c.close();
    } finally {
      await sockH.stop();
      await rm(socketDir, { recursive: true, force: true });
    }
  });
});
