import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { SmtpTestClient } from './support/smtp-client.js';
import { startSmtpHarness } from './support/smtp-harness.js';
import { startPop3TestServer } from './support/test-server.js';
import { WireClient } from './support/wire-client.js';

/*
 * [auth] login_timeout: connections that do not log in are closed that long after accept,
 * PROXY header and TLS handshake included, and they count against max_connections from
 * accept, so silent connections cannot shut everyone else out for idle_timeout.
 */

/** A socket that sends `first` (if any) and then nothing (it reads, so it sees the close); resolves once connected. */
function silent(port: number, first?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      if (first !== undefined) socket.write(first);
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

const closed = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    // Whatever the server says first is of no interest; reading is what notices the end.
    socket.resume();
  });

describe('login_timeout', () => {
  it('1000 silent connections from 20 addresses are closed after login_timeout, and a 21st address then logs in within login_timeout + 1 s', async () => {
    const loginTimeoutMs = 5000;
    const t = await startPop3TestServer({
      proxyProtocol: true,
      listener: { maxConnections: 1000, maxConnectionsPerIp: 50, loginTimeoutMs },
      // The proxied addresses are not trusted networks; this test is not about TLS.
      policy: { disablePlaintextAuth: false },
    });
    const sockets: Socket[] = [];
    try {
      // 20 addresses x 50 connections, each greeted, then silent.
      const greeted: Promise<void>[] = [];
      // All at once, so that the first is still open when the last is greeted (setup well within login_timeout).
      const opened = Date.now();
      const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => silent(t.port, `PROXY TCP4 198.51.100.${1 + (i % 20)} 127.0.0.1 ${10000 + i} 110\r\n`)));
      for (const socket of all) {
        sockets.push(socket);
        greeted.push(new Promise((resolve) => socket.once('data', () => resolve())));
      }
      await Promise.all(greeted);
      const started = Date.now();
      // On a loaded machine the first ones may time out before the last is greeted; the
      // server is then not full, and only the bound below is checked.
      const wasFull = started - opened < loginTimeoutMs / 2;
      // The server is full: the 21st address is turned away until the silent ones are closed.
      let client: WireClient | undefined;
      let refusals = 0;
      for (let i = 0; i < 200 && client === undefined; i++) {
        const c = await WireClient.connect(t.port);
        c.send('PROXY TCP4 203.0.113.21 127.0.0.1 40000 110\r\n');
        const first = await c.line().catch(() => '');
        if (first.startsWith('+OK')) client = c;
        else {
          refusals++;
          assert.match(first, /^-ERR \[SYS\/TEMP\] Too many connections|^$/);
          c.close();
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      assert.ok(client, 'never got in');
      if (wasFull) assert.ok(refusals > 0, 'the server was full at first');
      await client.command('USER alice');
      assert.match(await client.command('PASS secret'), /^\+OK/);
      const elapsed = Date.now() - started;
      assert.ok(elapsed <= loginTimeoutMs + 1000, `logged in after ${elapsed} ms`);
      client.close();
      await Promise.all(sockets.map(closed));
      assert.ok(t.logs.filter((l) => l.event === 'login_timeout').length >= 1000);
    } finally {
      for (const s of sockets) s.destroy();
      await t.stop();
    }
  });

  it('closes connections still in the PROXY header or the TLS handshake, and leaves logged-in sessions alone', async () => {
    const t = await startPop3TestServer({ proxyProtocol: true, tls: true, listener: { loginTimeoutMs: 2000 } });
    const pop3 = await startPop3TestServer({ listener: { loginTimeoutMs: 2000 } });
    try {
      const session = await pop3.login('alice', 'secret');
      const inProxy = await silent(t.port);
      const inHandshake = await silent(t.tlsPort as number, 'PROXY TCP4 127.0.0.1 127.0.0.1 1 995\r\n');
      const unauthenticated = await silent(pop3.port);
      await Promise.all([closed(inProxy), closed(inHandshake), closed(unauthenticated)]);
      assert.match(await session.command('NOOP'), /^\+OK/, 'a logged-in session outlives login_timeout');
      await session.command('QUIT');
      assert.ok(t.logs.some((l) => l.event === 'login_timeout' && l.stage === 'handshake'));
    } finally {
      await t.stop();
      await pop3.stop();
    }
  });

  it('applies to submission: an unauthenticated connection is closed, an authenticated one is not', async () => {
    const h = await startSmtpHarness({ submission: { loginTimeoutMs: 2000 } });
    try {
      // Opened in this order, so each earlier one's deadline (if it had one) passes first.
      const mx = await silent(h.ports.smtp);
      const authed = await SmtpTestClient.open(h.ports.submission);
      await authed.command('EHLO client.test');
      assert.equal((await authed.command(`AUTH PLAIN ${Buffer.from('\0alice\0secret').toString('base64')}`)).code, 235);
      const idle = await silent(h.ports.submission);
      await closed(idle);
      assert.equal((await authed.command('NOOP')).code, 250, 'an authenticated session outlives login_timeout');
      assert.equal(mx.destroyed, false, 'the MX port has no login timeout');
      authed.close();
      mx.destroy();
    } finally {
      await h.stop();
    }
  });
});
