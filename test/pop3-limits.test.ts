import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPop3TestServer, type TestServer } from './support/test-server.js';
import { waitFor } from './support/wait-for.js';
import { WireClient } from './support/wire-client.js';

describe('bad input gets a clear -ERR and the server keeps serving', () => {
  let t: TestServer;
  before(async () => {
    t = await startPop3TestServer({ users: { alice: 'secret', broken: 'pw' }, policy: { maxBadCommands: 5 } });
    await t.deliver('alice', 'Subject: x\n\nbody\n');
  });
  after(() => t.stop());

  it('answers an overlong line with -ERR, discards it, and goes on', async () => {
    const c = await t.login('alice', 'secret');
    assert.match(await c.command(`NOOP ${'x'.repeat(5000)}`), /^-ERR Line too long/);
    assert.equal(await c.command('NOOP'), '+OK');
    c.close();
  });

  it('answers binary garbage with -ERR and goes on', async () => {
    const c = await t.connect();
    await c.line();
    c.send(Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a]));
    assert.match(await c.line(), /^-ERR Invalid characters/);
    assert.match(await c.command('CAPA'), /^\+OK/);
    c.close();
  });

  it('answers unknown commands', async () => {
    const c = await t.connect();
    await c.line();
    assert.equal(await c.command('HELO there'), '-ERR Unknown command');
    c.close();
  });

  it('closes the session after too many bad commands', async () => {
    const c = await t.connect();
    await c.line();
    for (let i = 0; i < 4; i++) assert.equal(await c.command('BOGUS'), '-ERR Unknown command');
    assert.match(await c.command('BOGUS'), /^-ERR Too many bad commands/);
    assert.equal(await c.rest(), '');
  });

  it('answers -ERR [SYS/TEMP] when the maildrop cannot be opened, and keeps serving others', async () => {
    await mkdir(join(t.dataDir, 'mail'), { recursive: true });
    await writeFile(join(t.dataDir, 'mail', 'broken'), 'not a directory');
    const c = await t.connect();
    await c.line();
    await c.command('USER broken');
    assert.match(await c.command('PASS pw'), /^-ERR \[SYS\/TEMP\] /);
    const ok = await t.login('alice', 'secret');
    assert.match(await ok.command('STAT'), /^\+OK 1 /);
    ok.close();
    c.close();
    const line = t.rawLogs.find((l) => l.includes('maildrop_open_failed'));
    assert.ok(line, 'the fault is logged');
  });

  it('a second session for the same user gets -ERR [IN-USE], and the lock goes with the first', async () => {
    const first = await t.login('alice', 'secret');
    const second = await t.connect();
    await second.line();
    await second.command('USER alice');
    assert.equal(await second.command('PASS secret'), '-ERR [IN-USE] Maildrop is locked by another session');
    await first.command('QUIT');
    await second.command('USER alice');
    assert.match(await second.command('PASS secret'), /^\+OK/);
    second.close();
  });
});

describe('connection limits and timers', () => {
  it('refuses connections over the per-IP limit with -ERR [SYS/TEMP]', async () => {
    const t = await startPop3TestServer({ listener: { maxConnectionsPerIp: 2 } });
    try {
      const a = await t.connect();
      const b = await t.connect();
      await a.line();
      await b.line();
      const c = await t.connect();
      assert.match(await c.line(), /^-ERR \[SYS\/TEMP\] Too many connections/);
      a.close();
      await waitFor(() => t.server.connections === 1, 'one connection left');
      const d = await t.connect();
      assert.match(await d.line(), /^\+OK/);
      b.close();
      d.close();
    } finally {
      await t.stop();
    }
  });

  it('refuses connections over the total limit', async () => {
    const t = await startPop3TestServer({ listener: { maxConnections: 1 } });
    try {
      const a = await t.connect();
      await a.line();
      const b = await t.connect();
      assert.match(await b.line(), /^-ERR \[SYS\/TEMP\]/);
      a.close();
    } finally {
      await t.stop();
    }
  });

  it('the autologout timer ends an idle session without committing', async () => {
    // Long enough that a loaded machine does not end the session between login and DELE.
    const t = await startPop3TestServer({ listener: { idleTimeoutMs: 1500 } });
    try {
      await t.deliver('alice', 'Subject: keep\n\nme\n');
      const c = await t.login('alice', 'secret');
      await c.command('DELE 1');
      assert.match(await c.line(), /^-ERR Autologout/);
      assert.equal(await c.rest(), '');
      const again = await t.login('alice', 'secret');
      assert.match(await again.command('STAT'), /^\+OK 1 /);
      again.close();
    } finally {
      await t.stop();
    }
  });

  it('shutdown ends sessions without committing and stops accepting', async () => {
    const t = await startPop3TestServer();
    try {
      await t.deliver('alice', 'Subject: keep\n\nme\n');
      const c = await t.login('alice', 'secret');
      await c.command('DELE 1');
      const closing = t.server.close(500);
      assert.match(await c.line(), /^-ERR \[SYS\/TEMP\] Server shutting down/);
      await closing;
      await assert.rejects(WireClient.connect(t.port));
      const maildrop = await t.store.openMaildrop('alice');
      assert.equal(maildrop.messages.length, 1);
      await maildrop.release();
    } finally {
      await t.stop();
    }
  });
});

describe('logging', () => {
  it('writes one session_end line with user, address, duration and counts, and never a password', async () => {
    const t = await startPop3TestServer({ users: { alice: 'Sup3rSecretPw' } });
    try {
      await t.deliver('alice', 'Subject: a\n\nbody\n');
      await t.deliver('alice', 'Subject: b\n\nbody\n');
      const bad = await t.connect();
      await bad.line();
      await bad.command('USER alice');
      await bad.command('PASS WrongSecretPw');
      bad.close();
      const c = await t.login('alice', 'Sup3rSecretPw');
      await c.multi('RETR 1');
      await c.multi('TOP 2 0');
      await c.command('DELE 1');
      await c.command('QUIT');
      await waitFor(() => t.logs.some((l) => l.event === 'session_end' && l.reason === 'quit'), 'session_end after QUIT');
      const end = t.logs.find((l) => l.event === 'session_end' && l.reason === 'quit');
      assert.equal(end?.user, 'alice');
      assert.equal(end?.remote, '127.0.0.1');
      assert.equal(typeof end?.durationMs, 'number');
      assert.equal(end?.retr, 1);
      assert.ok((end?.retrBytes as number) > 0);
      assert.equal(end?.top, 1);
      assert.equal(end?.dele, 1);
      assert.equal(end?.expunged, 1);
      const failed = t.logs.find((l) => l.event === 'auth_failed');
      assert.equal(failed?.user, 'alice');
      const all = t.rawLogs.join('\n');
      assert.ok(!all.includes('Sup3rSecretPw') && !all.includes('WrongSecretPw'), 'a password reached the log');
    } finally {
      await t.stop();
    }
  });
});
