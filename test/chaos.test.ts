import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTransport } from 'nodemailer';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { maildirContents } from './support/client-scenarios.js';
import { api, SchemaChecker } from './support/http-api.js';
import { runCli, type CliResult } from './support/server-process.js';
import { waitFor } from './support/wait-for.js';
import { WireClient } from './support/wire-client.js';

const describeRun = (r: CliResult): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

async function login(server: TestServer, user: string, password: string): Promise<WireClient> {
  const client = await WireClient.connect(server.pop3.port);
  await client.line();
  await client.command(`USER ${user}`);
  assert.match(await client.command(`PASS ${password}`), /^\+OK/);
  return client;
}

describe('chaos: faults on demand', () => {
  let server: TestServer;
  let schema: SchemaChecker;
  let work: string;

  before(async () => {
    server = await startTestServer({ users: { alice: 'alice-pw', bob: 'bob-pw' } });
    schema = await SchemaChecker.of(server);
    work = await mkdtemp(join(tmpdir(), 'postel-chaos-'));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  const setChaos = async (body: unknown): Promise<void> => {
    const r = await api(server, 'PUT', '/api/v1/chaos', { body });
    assert.equal(r.status, 200, r.text);
    schema.check('PUT', '/api/v1/chaos', 200, r.json);
  };

  it('answers a chosen POP3 command with a chosen code, for one user, a set number of times', async () => {
    await server.deliver('alice', 'Subject: a\n\nalice 1\n');
    await setChaos({ pop3Errors: [{ command: 'RETR', code: 'SYS/TEMP', user: 'alice', times: 1 }, { command: 'PASS', code: 'IN-USE', user: 'bob', times: 1 }] });
    const alice = await login(server, 'alice', 'alice-pw');
    assert.equal(await alice.command('RETR 1'), '-ERR [SYS/TEMP] Temporary failure; try again later');
    const retr = await alice.multi('RETR 1');
    assert.match(retr.status, /^\+OK/);
    await alice.command('QUIT');
    alice.close();

    const bob = await WireClient.connect(server.pop3.port);
    await bob.line();
    await bob.command('USER bob');
    assert.equal(await bob.command('PASS bob-pw'), '-ERR [IN-USE] Maildrop is locked by another session');
    assert.match(await bob.command('PASS bob-pw'), /^\+OK/);
    await bob.command('QUIT');
    bob.close();

    const now = await api(server, 'GET', '/api/v1/chaos');
    schema.check('GET', '/api/v1/chaos', 200, now.json);
    assert.deepEqual((now.json as { pop3Errors: { times: number }[] }).pop3Errors.map((r) => r.times), [0, 0]);
    assert.equal((await api(server, 'DELETE', '/api/v1/chaos')).status, 204);
  });

  it('drops the connection after N octets of a RETR, and nothing is committed', async () => {
    await server.deliver('bob', `Subject: long\n\n${'x'.repeat(500)}\n`);
    await server.deliver('bob', `Subject: other\n\n${'z'.repeat(500)}\n`);
    await setChaos({ retrDrop: { afterBytes: 40, times: 1 } });
    const bob = await login(server, 'bob', 'bob-pw');
    await bob.command('DELE 2');
    bob.send('RETR 1\r\n');
    const rest = await bob.rest();
    const [status, ...body] = rest.split('\r\n');
    assert.match(status ?? '', /^\+OK/);
    assert.equal(Buffer.byteLength(body.join('\r\n')), 40, 'exactly 40 octets of the message, then the connection closed');
    await waitFor(async () => (await api(server, 'GET', '/api/v1/mailboxes/bob/messages')).status === 200, 'the condition');
    assert.equal(((await api(server, 'GET', '/api/v1/mailboxes/bob/messages')).json as { total: number }).total, 2, 'the DELE was not committed');
    await api(server, 'DELETE', '/api/v1/chaos');
  });

  it('trickles a message in slices; the bytes are the same', async () => {
    await setChaos({ trickle: { bytesPerSecond: 2000, user: 'bob' } });
    const bob = await login(server, 'bob', 'bob-pw');
    let reads = 0;
    bob.socket.on('data', () => reads++);
    const retr = await bob.multi('RETR 1');
    assert.match(retr.status, /^\+OK/);
    assert.match(retr.body.toString(), /^Subject: long\r\n\r\nx{500}\r\n$/);
    assert.ok(reads >= 3, `arrived in ${reads} reads`);
    await bob.command('QUIT');
    bob.close();
    await api(server, 'DELETE', '/api/v1/chaos');
  });

  it('makes SMTP answer a chosen code at a chosen stage', async () => {
    await setChaos({ smtp: [{ stage: 'rcpt', code: 451, times: 1 }] });
    const transport = createTransport({ host: server.smtp.host, port: server.smtp.port, ignoreTLS: true });
    await assert.rejects(transport.sendMail({ from: 'a@example.test', to: `alice@${server.domain}`, subject: 'x', text: 'x' }), (err: { responseCode?: number; response?: string }) => {
      assert.equal(err.responseCode, 451);
      assert.match(err.response ?? '', /^451 4\.3\.0 Injected failure \(chaos\)/);
      return true;
    });
    await transport.sendMail({ from: 'a@example.test', to: `alice@${server.domain}`, subject: 'after chaos', text: 'x' });
    transport.close();
    await server.waitForMessage('subject:"after chaos"');
    await api(server, 'DELETE', '/api/v1/chaos');
  });

  it('postel fetch reports the injected errors and loses nothing', async () => {
    for (let n = 1; n <= 5; n++) await server.deliver('bob', `Subject: fetch ${n}\n\nmessage ${n} ${'y'.repeat(200)}\n`);
    const total = ((await api(server, 'GET', '/api/v1/mailboxes/bob/messages')).json as { total: number }).total;
    await setChaos({ pop3Errors: [{ command: 'RETR', code: 'SYS/TEMP', user: 'bob', times: 1 }], retrDrop: { afterBytes: 60, user: 'bob', times: 1 } });
    const maildir = join(work, 'Maildir');
    const args = ['fetch', '--server', `pop3://bob@127.0.0.1:${server.pop3.port}`, '--insecure-tls', '--password-env', 'PW', '--deliver', `maildir:${maildir}`, '--data', join(work, 'state'), '--delete'];
    const env = { ...process.env, PW: 'bob-pw' };
    const runs: CliResult[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await runCli(args, '', env);
      runs.push(r);
      if (r.code === 0 && /\s0\s+ok$/m.test(r.stdout)) break;
    }
    const first = runs[0] as CliResult;
    assert.notEqual(first.code, 0, describeRun(first));
    assert.match(`${first.stdout}${first.stderr}`, /SYS\/TEMP|Temporary failure/, describeRun(first));
    const all = runs.map((r) => `${r.stdout}${r.stderr}`).join('\n');
    assert.match(all, /closed|dropped|ended|connection/i, all);
    assert.equal((runs.at(-1) as CliResult).code, 0, runs.map(describeRun).join('\n---\n'));
    const fetched = await maildirContents(maildir);
    assert.equal(fetched.length, total, 'every message exactly once');
    assert.equal(new Set(fetched).size, total, 'no duplicates');
    assert.equal(((await api(server, 'GET', '/api/v1/mailboxes/bob/messages')).json as { total: number }).total, 0, 'deleted on the server once delivered');
    await api(server, 'DELETE', '/api/v1/chaos');
  });

  it('refuses bad rules with 400 and changes nothing; a server without [chaos] enabled answers 409', async () => {
    for (const body of [{ pop3Errors: [{ command: 'RETR', code: 'NOPE' }] }, { smtp: [{ stage: 'rcpt', code: 250 }] }, { surprise: true }, { retrDrop: { afterBytes: -1 } }]) {
      const r = await api(server, 'PUT', '/api/v1/chaos', { body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.deepEqual((await api(server, 'GET', '/api/v1/chaos')).json, { pop3Errors: [], retrDrop: null, trickle: null, smtp: [] });
    const off = await startTestServer({ config: { chaos: { enabled: false } } });
    try {
      const r = await api(off, 'PUT', '/api/v1/chaos', { body: { smtp: [{ stage: 'rcpt', code: 451 }] } });
      assert.equal(r.status, 409);
      assert.equal((r.json as { error: { code: string } }).error.code, 'chaos_disabled');
    } finally {
      await off.close();
    }
  });
});
