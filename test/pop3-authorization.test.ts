import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

describe('POP3 AUTHORIZATION state over a real socket', () => {
  let t: TestServer;
  before(async () => {
    t = await startPop3TestServer({ users: { alice: 'secret', 'bob@example.org': 'pw with spaces' } });
    await t.deliver('alice', 'Subject: one\n\nhello\n');
  });
  after(() => t.stop());

  it('greets with +OK and no APOP timestamp when APOP is off', async () => {
    const c = await t.connect();
    const greeting = await c.line();
    assert.match(greeting, /^\+OK /);
    assert.doesNotMatch(greeting, /<.*@.*>/);
    c.close();
  });

  it('CAPA lists the RFC 2449 capabilities before login', async () => {
    const c = await t.connect();
    await c.line();
    const { status, body } = await c.multi('CAPA');
    assert.match(status, /^\+OK/);
    const caps = body.toString('latin1').split('\r\n').filter(Boolean);
    for (const cap of ['TOP', 'USER', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'LOGIN-DELAY 0', 'EXPIRE NEVER', 'IMPLEMENTATION postel']) {
      assert.ok(caps.includes(cap), `missing ${cap} in ${caps.join(', ')}`);
    }
    c.close();
  });

  it('USER then PASS logs in and reports the maildrop', async () => {
    const c = await t.connect();
    await c.line();
    assert.match(await c.command('user alice'), /^\+OK/);
    assert.match(await c.command('PASS secret'), /^\+OK alice's maildrop has 1 message \(\d+ octets\)/);
    assert.match(await c.command('QUIT'), /^\+OK/);
    assert.equal(await c.rest(), '');
  });

  it('a password may contain spaces', async () => {
    const c = await t.connect();
    await c.line();
    await c.command('USER bob@EXAMPLE.org');
    assert.match(await c.command('PASS pw with spaces'), /^\+OK/);
    c.close();
  });

  it('a wrong password and an unknown user get the same -ERR [AUTH]', async () => {
    const c = await t.connect();
    await c.line();
    await c.command('USER alice');
    const wrong = await c.command('PASS nope');
    await c.command('USER nobody');
    const unknown = await c.command('PASS secret');
    assert.equal(wrong, '-ERR [AUTH] Authentication failed');
    assert.equal(unknown, wrong);
    c.close();
  });

  it('PASS without USER is refused', async () => {
    const c = await t.connect();
    await c.line();
    assert.match(await c.command('PASS secret'), /^-ERR /);
    c.close();
  });

  it('transaction commands are refused before login', async () => {
    const c = await t.connect();
    await c.line();
    for (const cmd of ['STAT', 'LIST', 'RETR 1', 'DELE 1', 'NOOP', 'RSET', 'TOP 1 1', 'UIDL']) {
      assert.match(await c.command(cmd), /^-ERR .*not valid in this state/, cmd);
    }
    c.close();
  });

  it('AUTH without argument lists no mechanisms; AUTH with one is refused', async () => {
    const c = await t.connect();
    await c.line();
    const { status, body } = await c.multi('AUTH');
    assert.match(status, /^\+OK/);
    assert.equal(body.length, 0);
    assert.match(await c.command('AUTH PLAIN'), /^-ERR /);
    c.close();
  });

  it('APOP is unknown when it is off', async () => {
    const c = await t.connect();
    await c.line();
    assert.equal(await c.command('APOP alice 0123456789abcdef0123456789abcdef'), '-ERR Unknown command');
    c.close();
  });

  it('QUIT in AUTHORIZATION answers and closes', async () => {
    const c = await t.connect();
    await c.line();
    assert.match(await c.command('QUIT'), /^\+OK/);
    assert.equal(await c.rest(), '');
  });

  it('USER and PASS are refused once logged in', async () => {
    const c = await t.login('alice', 'secret');
    assert.match(await c.command('USER alice'), /^-ERR .*not valid in this state/);
    assert.match(await c.command('PASS secret'), /^-ERR .*not valid in this state/);
    await c.command('QUIT');
  });

  it('a failed login is not answered before the response floor', async () => {
    const slow = await startPop3TestServer({ authPolicy: { failureResponseMs: 300 }, realAuthWaits: true });
    try {
      const c = await slow.connect();
      await c.line();
      await c.command('USER alice');
      const started = Date.now();
      assert.match(await c.command('PASS wrong'), /^-ERR \[AUTH\]/);
      // Not a timing assertion on speed: the server must not answer before its own delay.
      assert.ok(Date.now() - started >= 250, 'answered before the configured delay');
      c.close();
    } finally {
      await slow.stop();
    }
  });

  it('closes the connection after too many failed logins', async () => {
    const c = await t.connect();
    await c.line();
    for (let i = 0; i < 2; i++) {
      await c.command('USER alice');
      assert.equal(await c.command('PASS wrong'), '-ERR [AUTH] Authentication failed');
    }
    await c.command('USER alice');
    assert.match(await c.command('PASS wrong'), /^-ERR \[AUTH\] .*closing/);
    assert.equal(await c.rest(), '');
  });
});

describe('APOP (RFC 1939 section 7) when enabled', () => {
  let t: TestServer;
  before(async () => {
    t = await startPop3TestServer({ policy: { apop: true }, users: { carol: 'tanstaaf', alice: 'secret' }, plain: ['carol'] });
  });
  after(() => t.stop());

  it('greets with a timestamp and accepts the MD5 digest of timestamp + secret', async () => {
    const c = await t.connect();
    const greeting = await c.line();
    const stamp = /(<[^>]+@[^>]+>)/.exec(greeting)?.[1];
    assert.ok(stamp, greeting);
    const digest = createHash('md5').update(stamp + 'tanstaaf').digest('hex');
    assert.match(await c.command(`APOP carol ${digest}`), /^\+OK/);
    await c.command('QUIT');
  });

  it('refuses a wrong digest, and users without a plaintext-equivalent secret', async () => {
    const c = await t.connect();
    const greeting = await c.line();
    const stamp = /(<[^>]+>)/.exec(greeting)?.[1] ?? '';
    assert.match(await c.command(`APOP carol ${'0'.repeat(32)}`), /^-ERR \[AUTH\]/);
    const digest = createHash('md5').update(stamp + 'secret').digest('hex');
    assert.match(await c.command(`APOP alice ${digest}`), /^-ERR \[AUTH\]/);
    c.close();
  });
});
