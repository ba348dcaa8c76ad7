import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

describe('POP3 log lines', () => {
  let t: TestServer;
  before(async () => {
    t = await startPop3TestServer();
    await t.deliver('alice', 'Subject: one\n\nx\n');
  });
  after(() => t.stop());

  it('auth_failed names the remote address once (the session logger already carries it)', async () => {
    const c = await t.connect();
    await c.line();
    await c.command('USER alice');
    assert.match(await c.command('PASS wrong'), /^-ERR /);
    c.close();
    const line = t.rawLogs.find((l) => l.includes('"event":"auth_failed"'));
    assert.ok(line, t.rawLogs.join(''));
    assert.equal(line.match(/"remote":/g)?.length, 1, line);
  });

  it('says "1 message", not "1 messages", at login, in LIST and at QUIT', async () => {
    const c = await t.login('alice', 'secret');
    const list = await c.multi('LIST');
    assert.match(list.status, /^\+OK 1 message \(\d+ octets\)$/);
    assert.equal(await c.command('DELE 1'), '+OK Message 1 deleted');
    assert.equal(await c.command('QUIT'), '+OK postel signing off (1 message deleted)');
    const again = await t.connect();
    await again.line();
    await again.command('USER alice');
    assert.match(await again.command('PASS secret'), /^\+OK alice's maildrop has 0 messages \(0 octets\)$/);
    again.close();
  });
});
