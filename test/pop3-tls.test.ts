import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startPop3TestServer, type TestServer } from './support/test-server.js';
import { waitFor } from './support/wait-for.js';
import { WireClient } from './support/wire-client.js';

const capaOf = async (c: WireClient): Promise<string[]> => (await c.multi('CAPA')).body.toString().split('\r\n').filter(Boolean);

describe('TLS: STLS (RFC 2595) and implicit TLS (RFC 8314)', () => {
  let t: TestServer;
  before(async () => {
    // Nothing is trusted: only TLS makes a connection secure, as for a client on the Internet.
    t = await startPop3TestServer({ tls: true, trustedNetworks: [] });
    await t.deliver('alice', 'Subject: tls\n\nover TLS\n');
  });
  after(() => t.stop());

  it('refuses USER/PASS before TLS and does not advertise USER there', async () => {
    const c = await t.connect();
    await c.line();
    const caps = await capaOf(c);
    assert.ok(caps.includes('STLS'), caps.join(','));
    assert.ok(!caps.includes('USER'), caps.join(','));
    assert.equal(await c.command('USER alice'), '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections');
    assert.equal(await c.command('PASS secret'), '-ERR [AUTH] Plaintext authentication disallowed on non-secure connections');
    c.close();
  });

  it('STLS upgrades; afterwards CAPA lists USER but no STLS, and login works', async () => {
    const c = await t.connect();
    await c.line();
    assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation now');
    const secure = await c.startTls({ ca: t.certPem });
    assert.equal(secure.authorized, true);
    const caps = await capaOf(c);
    assert.ok(!caps.includes('STLS'), caps.join(','));
    assert.ok(caps.includes('USER'), caps.join(','));
    assert.match(await c.command('STLS'), /^-ERR TLS is already active/);
    await c.command('USER alice');
    assert.match(await c.command('PASS secret'), /^\+OK alice's maildrop has 1 message /);
    const { body } = await c.multi('RETR 1');
    assert.equal(body.toString(), 'Subject: tls\r\n\r\nover TLS\r\n');
    assert.match(await c.command('QUIT'), /^\+OK/);
  });

  it('discards commands pipelined after STLS instead of running them after the handshake', async () => {
    const c = await t.connect();
    await c.line();
    // A man in the middle appends a command; it must not be executed in the TLS session.
    c.send('STLS\r\nUSER mallory\r\nCAPA\r\n');
    assert.equal(await c.line(), '+OK Begin TLS negotiation now');
    await c.startTls({ ca: t.certPem });
    // The first answer inside TLS is to our own command, not to the injected ones.
    assert.equal(await c.command('NOOP'), '-ERR NOOP is not valid in this state');
    assert.match(await c.command('PASS secret'), /^-ERR Send USER first/);
    c.close();
  });

  it('implicit TLS on its own port: no STLS in CAPA, login allowed', async () => {
    const c = await WireClient.connectTls(t.tlsPort as number, { ca: t.certPem });
    assert.match(await c.line(), /^\+OK/);
    const caps = await capaOf(c);
    assert.ok(!caps.includes('STLS'));
    assert.ok(caps.includes('USER'));
    await c.command('USER alice');
    assert.match(await c.command('PASS secret'), /^\+OK/);
    assert.match(await c.command('STAT'), /^\+OK 1 /);
    await c.command('QUIT');
  });

  it('refuses a TLS 1.2 renegotiation', async () => {
    const c = await WireClient.connectTls(t.tlsPort as number, { ca: t.certPem, maxVersion: 'TLSv1.2' });
    await c.line();
    const socket = c.socket as import('node:tls').TLSSocket;
    const outcome = await new Promise<string>((resolve) => {
      socket.once('error', (err) => resolve(`error: ${err.message}`));
      socket.once('close', () => resolve('closed'));
      socket.renegotiate({}, (err) => (err ? resolve(`error: ${err.message}`) : resolve('renegotiated')));
    });
    assert.notEqual(outcome, 'renegotiated');
    c.close();
  });

  it('refuses TLS below 1.2', async () => {
    await assert.rejects(WireClient.connectTls(t.tlsPort as number, { ca: t.certPem, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  });

  it('a failed handshake after STLS closes the connection, and the server keeps serving', async () => {
    const c = await t.connect();
    await c.line();
    assert.equal(await c.command('STLS'), '+OK Begin TLS negotiation now');
    c.send('this is not a TLS ClientHello\r\n');
    assert.equal(await c.rest(), '');
    const ok = await WireClient.connectTls(t.tlsPort as number, { ca: t.certPem });
    assert.match(await ok.line(), /^\+OK/);
    ok.close();
  });

  it('reload() serves a new certificate to new connections while an open session goes on', async () => {
    const open = await WireClient.connectTls(t.tlsPort as number, { ca: t.certPem });
    await open.line();
    const { selfSignedCertificate } = await import('../src/tls/self-signed.js');
    const { writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const fresh = selfSignedCertificate();
    await writeFile(join(t.dataDir, 'tls', 'self-signed-cert.pem'), fresh.cert);
    await writeFile(join(t.dataDir, 'tls', 'self-signed-key.pem'), fresh.key);
    assert.equal(await (t.server as unknown as { certificates: { reload(): Promise<boolean> } }).certificates.reload(), true);
    // The open session still works over its original TLS session.
    assert.match(await open.command('NOOP'), /^-ERR NOOP is not valid/);
    const next = await WireClient.connectTls(t.tlsPort as number, { ca: fresh.cert });
    assert.match(await next.line(), /^\+OK/);
    await assert.rejects(WireClient.connectTls(t.tlsPort as number, { ca: t.certPem }), /self.signed|certificate/i);
    open.close();
    next.close();
  });
});

describe('PROXY protocol (HAProxy v1 and v2)', () => {
  let t: TestServer;
  before(async () => {
    t = await startPop3TestServer({ proxyProtocol: true, tls: true, users: { alice: 'secret' } });
  });
  after(() => t.stop());

  const raw = (port: number, first: Buffer): Promise<WireClient> =>
    WireClient.connect(port).then((c) => {
      c.send(first);
      return c;
    });

  it('v1: the reported client address is what trust and logs see', async () => {
    const c = await raw(t.port, Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 40000 110\r\n'));
    assert.match(await c.line(), /^\+OK/);
    // 203.0.113.7 is not trusted (loopback is): plaintext login is refused.
    assert.match(await c.command('USER alice'), /^-ERR \[AUTH\] Plaintext/);
    c.close();
    const local = await raw(t.port, Buffer.from('PROXY TCP4 127.0.0.1 127.0.0.1 40000 110\r\n'));
    await local.line();
    assert.match(await local.command('USER alice'), /^\+OK/);
    local.close();
  });

  it('v2: binary header with an IPv6 source, and command bytes in the same packet', async () => {
    const header = Buffer.alloc(16 + 36);
    Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]).copy(header);
    header[12] = 0x21;
    header[13] = 0x21;
    header.writeUInt16BE(36, 14);
    Buffer.from('20010db8000000000000000000000001', 'hex').copy(header, 16);
    Buffer.from('00000000000000000000000000000001', 'hex').copy(header, 32);
    header.writeUInt16BE(5555, 48);
    header.writeUInt16BE(110, 50);
    const c = await raw(t.port, Buffer.concat([header, Buffer.from('CAPA\r\n')]));
    assert.match(await c.line(), /^\+OK/);
    assert.match(await c.line(), /^\+OK Capability/);
    const caps = (await c.body()).toString();
    assert.ok(!caps.includes('\r\nUSER\r\n') && !caps.startsWith('USER'), 'USER must not be offered to 2001:db8::1');
    c.close();
    await waitFor(() => t.logs.some((l) => l.remote === '2001:db8::1'), 'a log line naming the proxied client 2001:db8::1');
  });

  it('v1 in front of implicit TLS', async () => {
    const { connect: tlsConnect } = await import('node:tls');
    const socket = connect({ port: t.tlsPort as number, host: '127.0.0.1' });
    await new Promise((r) => socket.once('connect', r));
    socket.write('PROXY TCP4 127.0.0.1 127.0.0.1 1 995\r\n');
    const secure = tlsConnect({ socket, ca: t.certPem, servername: 'localhost' });
    const greeting = await new Promise<string>((resolve, reject) => {
      secure.once('data', (d: Buffer) => resolve(d.toString()));
      secure.once('error', reject);
    });
    assert.match(greeting, /^\+OK/);
    secure.destroy();
  });

  it('closes a peer outside proxy_trusted_networks unheard, whatever header it sends', async () => {
    const strict = await startPop3TestServer({ proxyProtocol: true, proxyTrustedNetworks: ['192.0.2.0/24'] });
    try {
      const c = await raw(strict.port, Buffer.from('PROXY TCP4 127.0.0.1 127.0.0.1 40000 110\r\nUSER alice\r\n'));
      assert.equal(await c.rest(), '', 'no greeting: the header claimed a trusted address');
      await waitFor(() => strict.logs.some((l) => l.event === 'proxy_peer_refused' && l.peer === '127.0.0.1'), 'the proxy_peer_refused log line');
    } finally {
      await strict.stop();
    }
  });

  it('closes a connection without a valid header, before any greeting', async () => {
    const c = await raw(t.port, Buffer.from('USER alice\r\n'));
    assert.equal(await c.rest(), '');
    const bad = await raw(t.port, Buffer.from('PROXY TCP4 999.1.1.1 1.1.1.1 1 2\r\n'));
    assert.equal(await bad.rest(), '');
  });
});
