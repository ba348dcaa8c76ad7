import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startPop3TestServer } from './support/test-server.js';

describe('RFC 2449 LOGIN-DELAY', () => {
  it('is advertised and enforced with -ERR [LOGIN-DELAY]', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const t = await startPop3TestServer({ policy: { loginDelaySeconds: 300 }, now: () => now });
    try {
      const c = await t.login('alice', 'secret');
      assert.match((await c.multi('CAPA')).body.toString(), /\r\nLOGIN-DELAY 300\r\n/);
      await c.command('QUIT');
      now = new Date(now.getTime() + 299_000);
      const early = await t.connect();
      await early.line();
      await early.command('USER alice');
      assert.equal(await early.command('PASS secret'), '-ERR [LOGIN-DELAY] Minimum time between logins is 300 seconds');
      // The refused login released the maildrop and did not count as a login.
      now = new Date(now.getTime() + 1_000);
      await early.command('USER alice');
      assert.match(await early.command('PASS secret'), /^\+OK/);
      early.close();
    } finally {
      await t.stop();
    }
  });
});

describe('RFC 2449 EXPIRE', () => {
  it('is advertised as NEVER by default and then keeps retrieved mail', async () => {
    const t = await startPop3TestServer();
    try {
      await t.deliver('alice', 'Subject: a\n\nx\n');
      let c = await t.login('alice', 'secret');
      await c.multi('RETR 1');
      await c.command('QUIT');
      c = await t.login('alice', 'secret');
      assert.match(await c.command('STAT'), /^\+OK 1 /);
      c.close();
    } finally {
      await t.stop();
    }
  });

  it('EXPIRE n deletes retrieved messages n days later at login, never unretrieved ones', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const t = await startPop3TestServer({ policy: { expireDays: 2 }, now: () => now });
    try {
      await t.deliver('alice', 'Subject: read\n\nx\n');
      await t.deliver('alice', 'Subject: unread\n\ny\n');
      let c = await t.login('alice', 'secret');
      assert.match((await c.multi('CAPA')).body.toString(), /\r\nEXPIRE 2\r\n/);
      await c.multi('RETR 1');
      await c.command('QUIT');
      now = new Date(now.getTime() + 86_400_000);
      c = await t.login('alice', 'secret');
      assert.match(await c.command('STAT'), /^\+OK 2 /);
      await c.command('QUIT');
      now = new Date(now.getTime() + 86_400_000);
      c = await t.login('alice', 'secret');
      assert.match(await c.command('STAT'), /^\+OK 1 /);
      assert.match((await c.multi('TOP 1 0')).body.toString(), /Subject: unread/);
      c.close();
    } finally {
      await t.stop();
    }
  });

  it('EXPIRE 0 removes retrieved messages at QUIT', async () => {
    const t = await startPop3TestServer({ policy: { expireDays: 0 } });
    try {
      await t.deliver('alice', 'Subject: a\n\nx\n');
      await t.deliver('alice', 'Subject: b\n\ny\n');
      let c = await t.login('alice', 'secret');
      await c.multi('RETR 2');
      assert.match(await c.command('QUIT'), /\(1 message deleted\)/);
      c = await t.login('alice', 'secret');
      assert.match((await c.multi('TOP 1 0')).body.toString(), /Subject: a/);
      assert.match(await c.command('STAT'), /^\+OK 1 /);
      c.close();
    } finally {
      await t.stop();
    }
  });
});
