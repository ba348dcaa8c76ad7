import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SmtpTestClient, envelope } from './support/smtp-client.js';
import { startSmtpHarness, testMessage, withoutTrace, type SmtpHarness } from './support/smtp-harness.js';

describe('SMTP intake: replies at each step', () => {
  let h: SmtpHarness;
  before(async () => {
    h = await startSmtpHarness({
      users: { alice: 'secret', bob: 'secret', 'carol@other.test': 'secret' },
      aliases: ['# team list', 'team@example.test   alice, bob', '@catchall.test  bob', 'postmaster  alice', 'fwd@example.test  someone@remote.test'].join('\n'),
      limits: { maxRecipients: 3, maxBadCommands: 5 },
    });
  });
  after(() => h?.stop());

  it('announces the extensions of the issue in EHLO', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const ehlo = await c.command('EHLO client.test');
    assert.equal(ehlo.code, 250);
    for (const ext of ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'SIZE 26214400']) assert.ok(ehlo.text.split('\n').includes(ext), ehlo.raw);
    // No AUTH on the MX port, and no STARTTLS without certificates.
    assert.doesNotMatch(ehlo.text, /AUTH|STARTTLS/);
    await c.command('QUIT');
    c.close();
  });

  it('stores a message for a local user with Return-Path and Received in front, body unchanged', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const [rcpt] = await envelope(c, 'sender@remote.test', ['alice@example.test']);
    assert.equal(rcpt?.raw, '250 2.1.5 Accepted');
    const body = 'line one\n.starts with a dot\n..two dots\n.\nlast line\n';
    const done = await c.data(testMessage('hello', body));
    assert.equal(done.raw, '250 2.0.0 Ok: delivered');
    c.close();
    const [stored] = await h.stored('alice');
    assert.ok(stored);
    const text = stored.toString('utf8');
    assert.match(text, /^Return-Path: <sender@remote\.test>\nDelivered-To: alice@example\.test\nReceived: from client\.test \(\[127\.0\.0\.1\]\)\n\tby mx\.test \(postel\) with ESMTP id \S+\n\tfor <alice@example\.test>; \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000\n/);
    assert.equal(withoutTrace(stored).toString('utf8'), testMessage('hello', body));
  });

  it('refuses an unknown recipient at RCPT with 550 5.1.1, and takes the good ones', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const replies = await envelope(c, 'sender@remote.test', ['nobody@example.test', 'bob@localhost', 'nobody@localhost']);
    assert.deepEqual(replies.map((r) => r.raw.slice(0, 9)), ['550 5.1.1', '250 2.1.5', '550 5.1.1']);
    assert.equal((await c.data(testMessage('x', 'y'))).code, 250);
    c.close();
  });

  it('refuses relaying to other domains with 554 5.7.1', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const [r] = await envelope(c, 'sender@remote.test', ['someone@elsewhere.example']);
    assert.equal(r?.raw, '554 5.7.1 Relay access denied');
    c.close();
  });

  it('resolves aliases, catch-alls, address-form users and the domain-less postmaster', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const replies = await envelope(c, 'sender@remote.test', ['team@example.test', 'anything@catchall.test', 'carol@other.test']);
    assert.deepEqual(replies.map((r) => r.code), [250, 250, 250]);
    assert.equal((await c.data(testMessage('alias', 'to the team'))).code, 250);
    const pm = await envelope(c, '', ['postmaster']);
    assert.equal(pm[0]?.code, 250);
    assert.equal((await c.data(testMessage('pm', 'for the postmaster'))).code, 250);
    // A remote alias target needs a smarthost; there is none, and nothing local: unknown.
    const [fwd] = await envelope(c, 'sender@remote.test', ['fwd@example.test']);
    assert.equal(fwd?.code, 550);
    c.close();
    const bodies = async (u: string): Promise<string[]> => (await h.stored(u)).map((b) => b.toString('utf8'));
    assert.ok((await bodies('alice')).some((m) => m.includes('to the team')));
    assert.ok((await bodies('bob')).some((m) => m.includes('to the team')));
    assert.equal((await bodies('bob')).filter((m) => m.includes('Subject: alias')).length, 1, 'bob via team and via the catch-all: one copy per maildrop');
    assert.ok((await bodies('carol@other.test')).some((m) => m.includes('Subject: alias')));
    assert.ok((await bodies('alice')).some((m) => m.startsWith('Return-Path: <>\n') && m.includes('for the postmaster')));
  });

  it('reloads the aliases file when it changes', async () => {
    await writeFile(join(h.dataDir, 'aliases'), 'newalias@example.test  bob\n');
    const c = await SmtpTestClient.open(h.ports.smtp);
    const [r1, r2] = await envelope(c, 'sender@remote.test', ['newalias@example.test', 'team@example.test']);
    assert.equal(r1?.code, 250);
    assert.equal(r2?.code, 550, 'the old alias is gone');
    c.close();
  });

  it('caps recipients per message with 452 4.5.3', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const replies = await envelope(c, 'sender@remote.test', ['alice@localhost', 'bob@localhost', 'alice@example.test', 'bob@example.test']);
    assert.deepEqual(replies.map((r) => r.raw.slice(0, 9)), ['250 2.1.5', '250 2.1.5', '250 2.1.5', '452 4.5.3']);
    c.close();
  });

  it('answers bad sequences with 503 5.5.1 and unknown commands with 500', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    assert.equal((await c.command('MAIL FROM:<a@b.test>')).code, 503, 'MAIL before EHLO');
    await c.command('EHLO client.test');
    assert.equal((await c.command('RCPT TO:<alice@localhost>')).raw.slice(0, 9), '503 5.5.1');
    assert.equal((await c.command('DATA')).raw.slice(0, 9), '503 5.5.1');
    assert.equal((await c.command('MAIL FROM:<a@b.test>')).code, 250);
    assert.equal((await c.command('MAIL FROM:<a@b.test>')).code, 503, 'nested MAIL');
    c.close();
  });

  it('closes the session with 421 after max_bad_commands refusals', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    await c.command('EHLO client.test');
    for (let i = 0; i < 4; i++) assert.equal((await c.command('BOGUS')).code, 500);
    const last = await c.command('BOGUS');
    assert.equal(last.code, 500);
    const bye = await c.reply();
    assert.equal(bye.raw, '421 4.7.0 Too many errors, closing connection');
    assert.ok(await c.waitClosed());
  });
});

describe('SMTP intake: limits', () => {
  let h: SmtpHarness;
  before(async () => {
    h = await startSmtpHarness({ limits: { maxMessageSize: 2000, maxConnectionsPerIp: 2, idleTimeoutMs: 1000 } });
  });
  after(() => h?.stop());

  it('refuses a declared SIZE over the limit at MAIL FROM with 552 5.3.4', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    await c.command('EHLO client.test');
    const r = await c.command('MAIL FROM:<a@remote.test> SIZE=5000');
    assert.equal(r.raw.slice(0, 9), '552 5.3.4');
    c.close();
  });

  it('refuses an oversized message after DATA with 552 5.3.4 and stores nothing', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    await envelope(c, 'a@remote.test', ['alice@localhost']);
    const r = await c.data(testMessage('big', 'x'.repeat(70).concat('\n').repeat(100)));
    assert.equal(r.raw.slice(0, 9), '552 5.3.4');
    // The session goes on.
    assert.equal((await c.command('NOOP')).code, 250);
    c.close();
    assert.deepEqual(await h.messages('alice'), []);
  });

  it('refuses connections over the per-address limit with 421', async () => {
    const a = await SmtpTestClient.open(h.ports.smtp);
    const b = await SmtpTestClient.open(h.ports.smtp);
    const c = await SmtpTestClient.connect(h.ports.smtp);
    const refused = await c.reply();
    assert.equal(refused.raw, '421 4.7.0 Too many connections, try again later');
    assert.ok(await c.waitClosed());
    a.close();
    b.close();
  });

  it('closes an idle session after idle_timeout', async () => {
    const c = await SmtpTestClient.open(h.ports.smtp);
    const bye = await c.reply(5000);
    assert.equal(bye.code, 421);
    assert.ok(await c.waitClosed());
  });
});
