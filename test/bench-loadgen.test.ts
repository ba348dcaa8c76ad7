import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCGenerator, CLoad, LoadgenError } from '../bench/load/c-generator.js';
import { crlf } from './support/wire-client.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

/*
 * The bench's C load generator (bench/load/loadgen.c), built with the machine's cc as the
 * bench builds it, against a real postel and against a server that answers what a test
 * needs (a RETR whose octets disagree with LIST, which no correct server sends).
 */

const messages = [
  'Subject: first\n\nplain LF body\n',
  'Subject: second\r\n\r\nCRLF body\r\n.starts with a dot\r\n.\r\n..two dots\r\n',
  'Subject: third\n\nno final newline',
  '.\n..\n...\n',
];

/** A POP3 server with one message: LIST says `listSize`, RETR sends `retrBody` (wire form). */
function scriptedServer(listSize: number, retrBody: string): Promise<{ server: Server; port: number }> {
  const server = createServer((socket: Socket) => {
    socket.write('+OK ready\r\n');
    let buffered = '';
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      for (let eol = buffered.indexOf('\r\n'); eol >= 0; eol = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, eol);
        buffered = buffered.slice(eol + 2);
        if (line === 'LIST') socket.write(`+OK 1 messages\r\n1 ${listSize}\r\n.\r\n`);
        else if (line === 'RETR 1') socket.write(`+OK ${listSize} octets\r\n${retrBody}.\r\n`);
        else if (line === 'QUIT') socket.end('+OK bye\r\n');
        else socket.write('+OK\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

describe('the bench C load generator', () => {
  let dir: string;
  let load: CLoad | null = null;
  let why = '';
  let t: TestServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postel-loadgen-'));
    const built = await buildCGenerator(dir);
    if (built.binary !== null) load = new CLoad(built.binary, dir);
    else why = built.why;
    t = await startPop3TestServer({ tls: true, users: { alice: 'secret', bob: 'secret2' }, plain: ['alice', 'bob'] });
    for (const m of messages) {
      await t.deliver('alice', m);
      await t.deliver('bob', m);
    }
  });
  after(async () => {
    await t.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('RETRs every message on several connections, each one checked against LIST', async (ctx) => {
    if (!load) return ctx.skip(why);
    const results = await load.retr({ host: '127.0.0.1', port: t.port, tls: false }, [{ user: 'alice', password: 'secret' }, { user: 'bob', password: 'secret2' }], messages.length, 60_000);
    assert.equal(results.length, 2);
    // Wire octets: each message dot-stuffed, then ".\r\n".
    const stuffed = messages.map((m) => crlf(m).toString('latin1').replace(/(^|\r\n)\./g, '$1..'));
    const wire = stuffed.reduce((n, s) => n + Buffer.byteLength(s, 'latin1') + 3, 0);
    for (const r of results) assert.deepEqual({ messages: r.messages, bytes: r.bytes }, { messages: messages.length, bytes: wire });
  });

  it('fails the run when RETR sends other octets than LIST said', async (ctx) => {
    if (!load) return ctx.skip(why);
    const { server, port } = await scriptedServer(10, 'twelve oct\r\n');
    try {
      await assert.rejects(load.retr({ host: '127.0.0.1', port, tls: false }, [{ user: 'u', password: 'p' }], 1, 30_000), (err: Error) => {
        assert.ok(err instanceof LoadgenError);
        assert.match(err.message, /RETR 1 sent 12 octets, LIST said 10/);
        return true;
      });
    } finally {
      server.close();
    }
  });

  it('counts a dot-stuffed line once undone: "..x" is the two octets ".x"', async (ctx) => {
    if (!load) return ctx.skip(why);
    // The message ".x\r\n.\r\n" (7 octets) goes out as "..x\r\n..\r\n" and ".\r\n" (12).
    const { server, port } = await scriptedServer(7, '..x\r\n..\r\n');
    try {
      const [r] = await load.retr({ host: '127.0.0.1', port, tls: false }, [{ user: 'u', password: 'p' }], 1, 30_000);
      assert.deepEqual({ messages: r?.messages, bytes: r?.bytes }, { messages: 1, bytes: 12 });
    } finally {
      server.close();
    }
  });

  it('churns sessions over TLS, verifying the certificate and resuming with the ticket', async (ctx) => {
    if (!load) return ctx.skip(why);
    const r = await load.churn({ host: '127.0.0.1', port: t.tlsPort as number, tls: true, ca: t.certPem as string }, [{ user: 'alice', password: 'secret' }], 60_000, 5);
    assert.equal(r.errors, 0, r.firstError ?? '');
    assert.equal(r.sessions, 5);
    assert.equal(r.latenciesMs.length, 5);
    // The first session has no ticket yet; every later one offers the first's.
    assert.equal(r.resumed, 4);
  });

  it('counts a refused login as an error of its session, not a hang', async (ctx) => {
    if (!load) return ctx.skip(why);
    const r = await load.churn({ host: '127.0.0.1', port: t.port, tls: false }, [{ user: 'alice', password: 'wrong' }], 60_000, 3);
    assert.equal(r.sessions, 0);
    assert.equal(r.errors, 3);
    assert.match(r.firstError ?? '', /^alice: .*-ERR/);
  });

  it('times a listing session and returns the STAT line', async (ctx) => {
    if (!load) return ctx.skip(why);
    const r = await load.listing({ host: '127.0.0.1', port: t.port, tls: false }, { user: 'alice', password: 'secret' });
    const total = messages.reduce((n, m) => n + crlf(m).length, 0);
    assert.equal(r.statLine, `+OK ${messages.length} ${total}`);
    assert.ok(r.uidlBytes > 0 && r.listBytes > 0);
  });
});
