import assert from 'node:assert/strict';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hasProgram, run } from './support/server-process.js';
import { SmtpTestClient, envelope } from './support/smtp-client.js';
import { startSmtpHarness, testMessage, type SmtpHarness } from './support/smtp-harness.js';
import { waitFor } from './support/wait-for.js';

/** Replaces USER's `sub` directory (new or tmp) with a regular file, so writes there fail even as root. */
async function breakMaildir(h: SmtpHarness, user: string, sub: 'new' | 'tmp'): Promise<() => Promise<void>> {
  const dir = join(h.mailRoot, user);
  await mkdir(join(dir, 'cur'), { recursive: true });
  await mkdir(join(dir, 'new'), { recursive: true });
  await mkdir(join(dir, 'tmp'), { recursive: true });
  await rename(join(dir, sub), join(dir, `${sub}.saved`));
  await writeFile(join(dir, sub), 'not a directory');
  return async () => {
    await rm(join(dir, sub));
    await rename(join(dir, `${sub}.saved`), join(dir, sub));
  };
}

async function send(port: number | string, to: readonly string[], subject: string, body = 'body\n', lmtp = false): Promise<{ rcpt: string[]; data: string[] }> {
  const c = await SmtpTestClient.open(port);
  const rcpt = (await envelope(c, 'sender@remote.test', to, lmtp)).map((r) => r.raw);
  const accepted = rcpt.filter((r) => r.startsWith('250')).length;
  const data: string[] = [];
  if (accepted > 0) {
    const first = await c.data(testMessage(subject, body));
    data.push(first.raw);
    if (lmtp) for (let i = 1; i < accepted; i++) data.push((await c.reply()).raw);
  }
  await c.command('QUIT').catch(() => undefined);
  c.close();
  return { rcpt, data };
}

describe('storage failures and quotas', () => {
  let h: SmtpHarness;
  before(async () => {
    h = await startSmtpHarness({
      users: { alice: 'secret', bob: 'secret', quser: 'secret', dquser: 'secret', erin: 'secret' },
      extra: { quser: 'quota=3000', dquser: 'userdb_quota_rule=*:storage=2k' },
    });
  });
  after(() => h?.stop());

  it('an unwritable new/ gets 451 4.3.0, and nothing is left in new/ or tmp/', async () => {
    const repair = await breakMaildir(h, 'alice', 'new');
    try {
      const r = await send(h.ports.smtp, ['alice@example.test'], 'lost?');
      assert.equal(r.rcpt[0], '250 2.1.5 Accepted');
      assert.equal(r.data[0], '451 4.3.0 Temporary local problem, try again later');
      assert.deepEqual(await readdir(join(h.mailRoot, 'alice', 'tmp')), []);
    } finally {
      await repair();
    }
    assert.deepEqual(await readdir(join(h.mailRoot, 'alice', 'new')), []);
  });

  it('an unwritable tmp/ gets a 4xx too, and new/ stays empty', async () => {
    const repair = await breakMaildir(h, 'alice', 'tmp');
    try {
      const r = await send(h.ports.smtp, ['alice@example.test'], 'lost?');
      assert.match(r.data[0] ?? '', /^4\d\d 4\.\d\.\d /);
      assert.deepEqual(await readdir(join(h.mailRoot, 'alice', 'new')), []);
    } finally {
      await repair();
    }
  });

  it('SMTP with one broken maildrop among several: 250, the good copy stored, the other retried from the queue', async () => {
    const repair = await breakMaildir(h, 'alice', 'new');
    let repaired = false;
    try {
      const r = await send(h.ports.smtp, ['alice@example.test', 'bob@example.test'], 'retry me');
      assert.equal(r.data[0], '250 2.0.0 Ok: delivered or queued');
      assert.equal((await h.stored('bob')).filter((m) => m.includes('retry me')).length, 1);
      const queued = await readdir(join(h.dataDir, 'queue'));
      assert.equal(queued.filter((n) => n.endsWith('.json')).length, 1, queued.join());
      await repair();
      repaired = true;
      await waitFor(async () => (await h.stored('alice')).some((m) => m.includes('retry me')), 'the queue to deliver it once new/ worked again');
      const [copy] = (await h.stored('alice')).filter((m) => m.includes('retry me'));
      assert.match(copy?.toString('utf8') ?? '', /^Return-Path: <sender@remote\.test>\nDelivered-To: [^\n]+\nReceived: from client\.test/);
      await waitFor(async () => (await readdir(join(h.dataDir, 'queue'))).length === 0, 'the queue entry to go');
    } finally {
      if (!repaired) await repair();
    }
  });

  it('LMTP answers per recipient: 250 for the good maildrop, 451 for the broken one', async () => {
    const repair = await breakMaildir(h, 'erin', 'new');
    try {
      const r = await send(h.ports.lmtp, ['erin@example.test', 'nobody@example.test', 'bob@example.test'], 'lmtp mixed', 'x\n', true);
      assert.deepEqual(r.rcpt.map((x) => x.slice(0, 9)), ['250 2.1.5', '550 5.1.1', '250 2.1.5']);
      assert.deepEqual(r.data, ['451 4.3.0 Temporary local problem, try again later', '250 2.0.0 <bob@example.test> Ok: delivered']);
      // LMTP leaves the retry to the client: nothing queued here.
      assert.deepEqual((await readdir(join(h.dataDir, 'queue')).catch(() => [])).filter((n) => n.endsWith('.json')), []);
    } finally {
      await repair();
    }
    assert.equal((await h.stored('bob')).filter((m) => m.includes('lmtp mixed')).length, 1);
  });

  it("python's smtplib.LMTP sees the unknown recipient refused and the others accepted", async (t) => {
    if (!(await hasProgram('python3'))) return t.skip('python3 not installed');
    const script = String.raw`
import smtplib, sys
l = smtplib.LMTP("127.0.0.1", int(sys.argv[1]))
refused = l.sendmail("s@remote.test", ["alice@example.test", "ghost@example.test", "bob@example.test"], b"Subject: via python LMTP\r\n\r\nhi\r\n")
l.quit()
print(sorted((k, v[0]) for k, v in refused.items()))
`;
    const r = await run('python3', ['-c', script, String(h.ports.lmtp)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString().trim(), "[('ghost@example.test', 550)]");
    assert.ok((await h.stored('alice')).some((m) => m.includes('via python LMTP')));
    assert.ok((await h.stored('bob')).some((m) => m.includes('via python LMTP')));
  });

  it('a mailbox at its quota is refused at RCPT with 552 5.2.2; one a message would overflow, after DATA', async () => {
    const r1 = await send(h.ports.smtp, ['quser@example.test'], 'fits', 'a'.repeat(1000));
    assert.equal(r1.data[0], '250 2.0.0 Ok: delivered');
    // 1000 + headers used of 3000: this one does not fit.
    const r2 = await send(h.ports.smtp, ['quser@example.test'], 'too big for the quota', 'b'.repeat(2500));
    assert.equal(r2.rcpt[0], '250 2.1.5 Accepted');
    assert.equal(r2.data[0], '552 5.2.2 Mailbox full: over quota');
    // A declared SIZE is checked at RCPT already.
    const c = await SmtpTestClient.open(h.ports.smtp);
    await c.command('EHLO client.test');
    await c.command('MAIL FROM:<s@remote.test> SIZE=2500');
    assert.equal((await c.command('RCPT TO:<quser@example.test>')).raw, '552 5.2.2 Mailbox full: over quota');
    c.close();
    await h.pop3.deliver('quser', 'Subject: fill\n\n' + 'c'.repeat(3000));
    const r3 = await send(h.ports.smtp, ['quser@example.test'], 'nothing fits now');
    assert.equal(r3.rcpt[0], '552 5.2.2 Mailbox full: over quota');
    assert.equal((await h.stored('quser')).length, 2);
  });

  it('reads the Dovecot userdb_quota_rule form (storage in kilobytes)', async () => {
    const ok = await send(h.ports.smtp, ['dquser@example.test'], 'small', 'x'.repeat(500));
    assert.equal(ok.data[0], '250 2.0.0 Ok: delivered');
    const full = await send(h.ports.smtp, ['dquser@example.test'], 'large', 'x'.repeat(1800));
    assert.equal(full.data[0], '552 5.2.2 Mailbox full: over quota');
  });

  it('mail delivered during an open POP3 session appears in the next session only', async () => {
    const session = await h.pop3.login('bob', 'secret');
    const before = await session.command('STAT');
    const r = await send(h.ports.smtp, ['bob@example.test'], 'during the session');
    assert.equal(r.data[0], '250 2.0.0 Ok: delivered');
    assert.equal(await session.command('STAT'), before);
    assert.match(await session.command('QUIT'), /^\+OK/);
    const next = await h.pop3.login('bob', 'secret');
    const [, count] = /^\+OK (\d+) /.exec(before) ?? [];
    assert.match(await next.command('STAT'), new RegExp(`^\\+OK ${Number(count) + 1} `));
    await next.command('QUIT');
  });
});
