import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hasProgram, run, startServerProcess, tempDataDir } from './support/server-process.js';
import { SmtpTestClient, envelope } from './support/smtp-client.js';

describe('postel serve: the seed round trip (npm start, swaks, curl)', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  before(async () => {
    env = await tempDataDir();
  });
  after(() => env?.cleanup());

  it('serve --demo listens for SMTP, LMTP and submission; swaks to demo@localhost, then curl shows the message', async (t) => {
    const server = await startServerProcess(['--config', env.config, '--demo']);
    try {
      const banner = server.stderr();
      const listeners = /^ {2}SMTP on 127\.0\.0\.1:(\d+), LMTP on 127\.0\.0\.1:(\d+), submission on 127\.0\.0\.1:(\d+)$/m.exec(banner);
      assert.ok(listeners, banner);
      const [, smtpPort, lmtpPort] = listeners.map(Number);
      assert.ok(banner.split('\n').includes(`  send: swaks --to demo@localhost --server 127.0.0.1:${smtpPort}`), banner);
      const password = /^ {2}demo account: demo \/ (\S+)/m.exec(banner)?.[1];
      assert.ok(password, banner);

      if (!(await hasProgram('swaks')) || !(await hasProgram('curl'))) {
        // Still prove the round trip with our own client, then say what was skipped.
        const c = await SmtpTestClient.open(smtpPort as number);
        await envelope(c, 'someone@remote.test', ['demo@localhost']);
        assert.equal((await c.data('Subject: round trip\n\nhello\n')).code, 250);
        c.close();
        t.skip('swaks or curl not installed: the round trip ran with the test client only');
        return;
      }
      const sent = await run('swaks', ['--to', 'demo@localhost', '--server', `127.0.0.1:${smtpPort}`, '--header', 'Subject: round trip']);
      assert.equal(sent.code, 0, sent.stdout.toString() + sent.stderr);
      // Message 1 is the welcome message; swaks' is message 2.
      const got = await run('curl', ['-s', `pop3://demo:${password}@127.0.0.1:${server.port}/2`]);
      assert.equal(got.code, 0, got.stderr);
      const text = got.stdout.toString('utf8');
      assert.match(text, /^Return-Path: <[^>]+>\r\nDelivered-To: demo@localhost\r\nReceived: from \S+ \(\[127\.0\.0\.1\]\)\r\n\tby \S+ \(postel\) with ESMTP id \S+\r\n\tfor <demo@localhost>; /);
      assert.match(text, /\r\nSubject: round trip\r\n/);
      assert.match(text, /This is a test mailing/);

      // LMTP on its own port, as Postfix would use it.
      const l = await SmtpTestClient.open(lmtpPort as number);
      const [r] = await envelope(l, 'mta@remote.test', ['demo@localhost'], true);
      assert.equal(r?.code, 250);
      assert.equal((await l.data('Subject: via lmtp\n\nhi\n')).raw, '250 2.0.0 <demo@localhost> Ok: delivered');
      l.close();
      const logs = server.logs();
      assert.ok(logs.some((e) => e.event === 'message_received' && e.listener === 'smtp'));
      assert.ok(logs.some((e) => e.event === 'listening' && e.protocol === 'lmtp'));
    } finally {
      assert.equal(await server.stop('SIGTERM'), 0);
    }
  });
});
