import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConnectionOptions } from 'node:tls';
import postgres from 'postgres';
import { HAPROXY, startHaproxy, type Haproxy } from './support/haproxy.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';
import { runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { SmtpTestClient } from './support/smtp-client.js';
import { waitFor } from './support/wait-for.js';
import { WireClient } from './support/wire-client.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/store/postgres/migrations.js';

/*
 * Two `postel serve` processes on one PostgreSQL database, behind Debian's HAProxy with
 * PROXY protocol v2: what one node stores the other lists, the maildrop lock holds across
 * nodes, a killed node's lease runs out and its session's DELEs are never applied, a database
 * restart in the middle of a session, and a quota that holds under concurrent deliveries
 * arriving at both nodes.
 */

const LEASE_SECONDS = 5;
const BODY_SIZE = 100_000;
const QUOTA_COPIES = 30;

const skip = postgresUnavailable() ?? (existsSync(HAPROXY) ? undefined : 'haproxy is not installed (Debian package haproxy, which npm test installs as root)');

describe('two postel nodes on one PostgreSQL behind HAProxy', { skip }, () => {
  let cluster: PostgresCluster;
  let url: string;
  let proxy: Haproxy;
  const nodes: ServerProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const configs: string[] = [];
  /** HAProxy frontends: to node A only, to node B only. */
  let viaA: number;
  let viaB: number;
  /** The node's own SMTP and submission ports (PROXY listeners: only HAProxy may connect). */
  const directPort = (node: ServerProcess, listener: 'SMTP' | 'submission' | 'submission over TLS'): number => Number(new RegExp(`${listener} on [^\\s,]+:(\\d+)`).exec(node.stderr())?.[1]);
  /** HAProxy's SMTP frontend for the node (send-proxy-v2), and submission to node A. */
  const smtpFront = new Map<ServerProcess, number>();
  let submissionViaA: number;
  /** Implicit TLS submission to node A: HAProxy passes the TLS bytes on after its header. */
  let submissionsViaA: number;
  const smtpPort = (node: ServerProcess): number => smtpFront.get(node) as number;

  before(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase();
    // `postel db migrate` through the environment variable, as an operator would.
    const migrated = await runCli(['db', 'migrate'], '', { ...process.env, POSTEL_STORE_URL: url });
    assert.equal(migrated.code, 0, migrated.stderr);
    const all = MIGRATIONS.map((m) => m.version);
    assert.equal(migrated.stderr, `postel: applied migrations ${all.join(', ')}; schema at version ${SCHEMA_VERSION}\n`);
    // The users go into the database once; both nodes read them from there. carol's quota
    // admits QUOTA_COPIES copies and a half.
    const staging = await tempDataDir();
    cleanups.push(staging.cleanup);
    await mkdir(join(staging.dir, 'data'), { recursive: true });
    await writeFile(
      join(staging.dir, 'data', 'users'),
      ['alice:{PLAIN}alice-pw::::::', 'bob:{PLAIN}bob-pw::::::', `carol:{PLAIN}carol-pw:::::: quota=${Math.floor(BODY_SIZE * (QUOTA_COPIES + 0.5))}`, 'erin:{PLAIN}erin-pw::::::', ''].join('\n'),
    );
    // The aliases file goes along: the nodes have none of their own.
    await writeFile(join(staging.dir, 'data', 'aliases'), '# imported once\npostmaster  erin\n');
    const imported = await runCli(['db', 'import-users', '--config', staging.config], '', { ...process.env, POSTEL_STORE_URL: url });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stderr, /4 users imported/);
    assert.match(imported.stderr, /1 aliases imported/);
    for (const name of ['a', 'b']) {
      const env = await tempDataDir(
        [
          // Still in tempDataDir's [pop3] table.
          'proxy_protocol = true',
          '[pop3s]',
          'enabled = false',
          '[store]',
          `url = ${JSON.stringify(url)}`,
          `lease_seconds = ${LEASE_SECONDS}`,
          '[auth]',
          // HAProxy connects from here; its PROXY header names the real client.
          'proxy_trusted_networks = ["127.0.0.1/32"]',
          // Plaintext logins from these clients only. HAProxy's own 127.0.0.1 is one too, so
          // a submission client at 127.0.0.2 is refused only if its PROXY header is believed.
          'trusted_networks = ["127.0.0.1/32", "127.0.0.3/32"]',
          '[smtp]',
          'proxy_protocol = true',
          'max_connections_per_ip = 100',
          '[smtp.submission]',
          'proxy_protocol = true',
          'implicit_tls = true',
          'implicit_tls_port = 0',
        ].join('\n'),
      );
      cleanups.push(env.cleanup);
      configs.push(env.config);
      nodes.push(await startServerProcess(['--config', env.config, '--host', '127.0.0.1']));
    }
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    proxy = await startHaproxy([
      { servers: [`127.0.0.1:${a.port}`] },
      { servers: [`127.0.0.1:${b.port}`] },
      { servers: [`127.0.0.1:${directPort(a, 'SMTP')}`] },
      { servers: [`127.0.0.1:${directPort(b, 'SMTP')}`] },
      { servers: [`127.0.0.1:${directPort(a, 'submission')}`] },
      { servers: [`127.0.0.1:${directPort(a, 'submission over TLS')}`] },
    ]);
    let smtpA: number;
    let smtpB: number;
    [viaA, viaB, smtpA, smtpB, submissionViaA, submissionsViaA] = proxy.ports as [number, number, number, number, number, number];
    smtpFront.set(a, smtpA).set(b, smtpB);
  });

  after(async () => {
    for (const node of nodes) await node.stop('SIGKILL');
    await proxy?.stop();
    await cluster?.stop();
    for (const c of cleanups) await c();
  });

  it('lists through node B what node A stored, with per-copy trace fields', async () => {
    const [a] = nodes as [ServerProcess];
    // From another loopback address: HAProxy connects from 127.0.0.1 and names this one.
    const smtp = await SmtpTestClient.open(smtpPort(a), '127.0.0.2');
    assert.equal((await smtp.command('EHLO client.example.org')).code, 250);
    assert.equal((await smtp.command('MAIL FROM:<sender@example.org>')).code, 250);
    assert.equal((await smtp.command('RCPT TO:<alice@localhost>')).code, 250);
    assert.equal((await smtp.command('RCPT TO:<bob@localhost>')).code, 250);
    assert.equal((await smtp.data('Subject: across nodes\r\n\r\nhello from A\r\n')).code, 250);
    await smtp.command('QUIT');

    for (const user of ['alice', 'bob']) {
      const pop = await login(viaB, user);
      const list = await pop.multi('LIST');
      assert.equal(list.status.split(' ')[0], '+OK');
      assert.equal(list.body.toString().split('\r\n').filter(Boolean).length, 1);
      const retr = (await pop.multi('RETR 1')).body.toString();
      assert.match(retr, /^Return-Path: <sender@example\.org>\r\nDelivered-To: [^\r\n]*\r\nReceived: /);
      assert.match(retr, /Received: from client\.example\.org \(\[127\.0\.0\.2\]\)/, "the client's address from the PROXY header, not HAProxy's");
      assert.match(retr, new RegExp(`Delivered-To: ${user}@localhost\\r\\n`));
      assert.match(retr, /hello from A/);
      assert.match(await pop.command('QUIT'), /^\+OK/);
      pop.close();
    }
  });

  it('takes SMTP and submission through HAProxy with PROXY v2: the client address decides, and only HAProxy may send headers', async () => {
    const [a] = nodes as [ServerProcess];
    // Plaintext AUTH is for trusted_networks: 127.0.0.3 is in them, 127.0.0.2 is not.
    const ehlo = async (from: string): Promise<string> => {
      const c = await SmtpTestClient.open(submissionViaA, from);
      const reply = (await c.command('EHLO client.example.org')).text;
      await c.command('QUIT');
      c.close();
      return reply;
    };
    assert.match(await ehlo('127.0.0.3'), /^AUTH PLAIN LOGIN/m);
    assert.doesNotMatch(await ehlo('127.0.0.2'), /^AUTH/m);
    const trusted = await SmtpTestClient.open(submissionViaA, '127.0.0.3');
    await trusted.command('EHLO client.example.org');
    assert.equal((await trusted.command(`AUTH PLAIN ${Buffer.from('\0alice\0alice-pw').toString('base64')}`)).code, 235);
    await trusted.command('QUIT');
    trusted.close();
    const untrusted = await SmtpTestClient.open(submissionViaA, '127.0.0.2');
    await untrusted.command('EHLO client.example.org');
    // AUTH is off for this session (the library's 500), as for any client outside trusted_networks.
    assert.equal((await untrusted.command(`AUTH PLAIN ${Buffer.from('\0alice\0alice-pw').toString('base64')}`)).code, 500);
    untrusted.close();

    // Implicit TLS behind the header: the ClientHello follows it in the same stream.
    // tls.connect passes socket.connect() options such as localAddress on (its typings omit them).
    const from2: ConnectionOptions & { localAddress: string } = { localAddress: '127.0.0.2' };
    const tls = await SmtpTestClient.openTls(submissionsViaA, from2);
    assert.match((await tls.command('EHLO client.example.org')).text, /^AUTH PLAIN LOGIN/m, 'AUTH over TLS from anywhere');
    assert.equal((await tls.command(`AUTH PLAIN ${Buffer.from('\0alice\0alice-pw').toString('base64')}`)).code, 235);
    await tls.command('QUIT');
    tls.close();
    await waitFor(() => a.logs().some((l) => l.event === 'session_end' && l.remote === '127.0.0.2' && l.user === 'alice' && typeof l.tls === 'string') || undefined, 'the TLS session logged with the client address', 10_000);

    // Straight to the node: from outside proxy_trusted_networks, closed unanswered; from
    // HAProxy's address without a header, closed once the first bytes are no PROXY header.
    const outsider = await SmtpTestClient.connect(directPort(a, 'SMTP'), '127.0.0.1', '127.0.0.2');
    await assert.rejects(outsider.reply(), /clos|end/i);
    const noHeader = await SmtpTestClient.connect(directPort(a, 'SMTP'));
    noHeader.send('EHLO client.example.org\r\n');
    await assert.rejects(noHeader.reply(), /clos|end/i);
    // The node logs each refusal (its log line may follow the close by a moment).
    await waitFor(() => a.logs().some((l) => l.event === 'proxy_peer_refused' && l.peer === '127.0.0.2') || undefined, 'proxy_peer_refused logged', 10_000);
    await waitFor(() => a.logs().some((l) => l.event === 'proxy_header_rejected' && l.peer === '127.0.0.1') || undefined, 'proxy_header_rejected logged', 10_000);
  });

  it('holds the maildrop lock of a session on node A against node B', async () => {
    const onA = await login(viaA, 'alice');
    const onB = await WireClient.connect(viaB);
    assert.match(await onB.line(), /^\+OK/);
    await onB.command('USER alice');
    assert.match(await onB.command('PASS alice-pw'), /^-ERR \[IN-USE\]/);
    onB.close();
    assert.match(await onA.command('QUIT'), /^\+OK/);
    onA.close();
    const again = await login(viaB, 'alice');
    assert.match(await again.command('QUIT'), /^\+OK/);
    again.close();
  });

  it('takes a password changed with `postel user passwd` on one node at the next login on every node', async () => {
    const changed = await runCli(['user', 'passwd', 'bob', '--password-stdin', '--config', configs[0] as string], 'new-bob-pw\n');
    assert.equal(changed.code, 0, changed.stderr);
    for (const port of [viaA, viaB]) {
      const c = await WireClient.connect(port);
      await c.line();
      await c.command('USER bob');
      assert.match(await c.command('PASS new-bob-pw'), /^\+OK/, `new password on ${port}`);
      assert.match(await c.command('QUIT'), /^\+OK/);
      c.close();
      const old = await WireClient.connect(port);
      await old.line();
      await old.command('USER bob');
      assert.match(await old.command('PASS bob-pw'), /^-ERR/, `old password on ${port}`);
      old.close();
    }
  });

  it('manages users over the HTTP API of either node, on the users table every node reads', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const call = (node: ServerProcess, method: string, path: string, body?: unknown): Promise<Response> =>
      httpCall(node, configs[nodes.indexOf(node)] as string, method, path, body);

    const added = await call(a, 'POST', '/api/v1/users', { name: 'dave', password: 'dave-pw' });
    assert.equal(added.status, 201, await added.clone().text());
    assert.deepEqual(await added.json(), { name: 'dave', quota: null, usage: 0 });
    // Added through node A's API, dave logs in through node B at once.
    const pop = await login(viaB, 'dave');
    assert.match(await pop.command('QUIT'), /^\+OK/);
    pop.close();

    const quota = await call(b, 'PUT', '/api/v1/users/dave/quota', { bytes: 5_000_000 });
    assert.equal(quota.status, 200);
    const listed = (await (await call(a, 'GET', '/api/v1/users')).json()) as { users: { name: string; quota: number | null }[] };
    assert.deepEqual(listed.users.find((u) => u.name === 'dave'), { name: 'dave', quota: 5_000_000, usage: 0 });
    // The same rows as `postel user` sees, through the other node's config.
    const cli = await runCli(['user', 'list', '--config', configs[1] as string]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(cli.stdout.split('\n').filter(Boolean), ['alice', 'bob', 'carol', 'dave', 'erin']);

    const changed = await call(b, 'PUT', '/api/v1/users/dave/password', { password: 'dave-new' });
    assert.equal(changed.status, 204);
    const sql = postgres(url, { onnotice: () => undefined, max: 1 });
    try {
      const [row] = await sql<{ password: string; extra: string[] }[]>`SELECT password, extra FROM users WHERE name = 'dave'`;
      assert.match(row?.password ?? '', /^\{SCRYPT\}/, 'a new password is hashed');
      assert.match((row?.extra ?? []).join(':'), /quota=5000000/, 'the password change kept the quota');
    } finally {
      await sql.end();
    }
    for (const port of [viaA, viaB]) {
      const c = await WireClient.connect(port);
      await c.line();
      await c.command('USER dave');
      assert.match(await c.command('PASS dave-new'), /^\+OK/, `new password on ${port}`);
      await c.command('QUIT');
      c.close();
    }

    assert.equal((await call(a, 'POST', '/api/v1/users', { name: 'dave', password: 'x' })).status, 409);
    assert.equal((await call(b, 'DELETE', '/api/v1/users/dave')).status, 204);
    assert.equal((await call(a, 'DELETE', '/api/v1/users/dave')).status, 404);
    const gone = await WireClient.connect(viaA);
    await gone.line();
    await gone.command('USER dave');
    assert.match(await gone.command('PASS dave-new'), /^-ERR/);
    gone.close();

    // The database gone: a temporary 503 the client can retry, and the API recovers by itself.
    await cluster.kill();
    try {
      const down = await call(a, 'GET', '/api/v1/users');
      assert.equal(down.status, 503);
      assert.equal(down.headers.get('retry-after'), '5');
      assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'unavailable');
    } finally {
      await cluster.start();
    }
    assert.equal((await call(a, 'GET', '/api/v1/users')).status, 200);
  });

  it('delivers through node B to an alias set with `postel alias` on node A, and refuses it once removed', async () => {
    const [a, b] = nodes as [ServerProcess, ServerProcess];
    const rcpt = async (node: ServerProcess, to: string): Promise<{ rcpt: number; data?: number }> => {
      const smtp = await SmtpTestClient.open(smtpPort(node));
      try {
        await smtp.command('EHLO client.example.org');
        await smtp.command('MAIL FROM:<sender@example.org>');
        const code = (await smtp.command(`RCPT TO:<${to}>`)).code;
        if (code !== 250) return { rcpt: code };
        return { rcpt: code, data: (await smtp.data(`Subject: to ${to}\r\n\r\nfor the team\r\n`)).code };
      } finally {
        await smtp.command('QUIT').catch(() => undefined);
      }
    };
    // Node B has read the (imported) table before the change: it must notice the change.
    // example.net is nobody's domain yet: relaying, refused to an unauthenticated client.
    assert.deepEqual(await rcpt(b, 'team@example.net'), { rcpt: 554 });
    assert.deepEqual(await rcpt(b, 'postmaster@localhost'), { rcpt: 250, data: 250 }, 'the imported alias');
    const set = await runCli(['alias', 'set', 'Team@example.net', 'erin,', 'bob@localhost', '--config', configs[0] as string]);
    assert.equal(set.code, 0, set.stderr);
    const listed = await runCli(['alias', 'list', '--config', configs[1] as string]);
    assert.equal(listed.stdout, 'postmaster erin\nteam@example.net erin, bob@localhost\n');
    // An alias domain is a local domain on every node: team@example.net is no relay attempt.
    assert.deepEqual(await rcpt(b, 'team@example.net'), { rcpt: 250, data: 250 });

    const pop = await WireClient.connect(viaA);
    await pop.line();
    await pop.command('USER erin');
    assert.match(await pop.command('PASS erin-pw'), /^\+OK/);
    const list = await pop.multi('LIST');
    assert.equal(list.body.toString().split('\r\n').filter(Boolean).length, 2, 'the postmaster message and the team message');
    assert.match((await pop.multi('RETR 2')).body.toString(), /Delivered-To: team@example\.net\r\n[\s\S]*Subject: to team@example\.net/);
    await pop.command('QUIT');
    pop.close();
    const sql = postgres(url, { onnotice: () => undefined, max: 1 });
    try {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE user_name = 'bob'`;
      assert.equal(row?.n, 2, "bob's copy through the alias, beside the first test's message");
    } finally {
      await sql.end();
    }

    const bad = await runCli(['alias', 'set', 'a@b@c', 'erin', '--config', configs[0] as string]);
    assert.equal(bad.code, 65, bad.stderr);
    const removed = await runCli(['alias', 'del', 'team@example.net', '--config', configs[1] as string]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(await rcpt(a, 'team@example.net'), { rcpt: 554 }, 'gone on node A too, and example.net with it');
    assert.deepEqual(await rcpt(a, 'nobody@localhost'), { rcpt: 550 });
    assert.equal((await runCli(['alias', 'del', 'team@example.net', '--config', configs[1] as string])).code, 67);
  });

  it('keeps a session working through a PostgreSQL restart', async () => {
    const pop = await login(viaB, 'alice');
    assert.match(await pop.command('DELE 1'), /^\+OK/);
    await cluster.restart();
    // The first query after the restart may meet a dead connection; a retry must work.
    let stat = await pop.command('STAT');
    if (!stat.startsWith('+OK')) stat = await pop.command('STAT');
    assert.match(stat, /^\+OK 0 0/);
    const list = await pop.multi('LIST 1');
    assert.match(list.status, /^-ERR/, 'message 1 stays deleted in the session');
    assert.match(await pop.command('QUIT'), /^\+OK .*\(1 message deleted\)/);
    pop.close();
    const after = await login(viaA, 'alice');
    assert.match(await after.command('STAT'), /^\+OK 0 0/);
    assert.match(await after.command('QUIT'), /^\+OK/);
    after.close();
  });

  it('admits exactly the deliveries that fit the quota when 50 arrive at both nodes at once', async () => {
    const body = `Subject: quota\r\n\r\n${'q'.repeat(BODY_SIZE - 40)}\r\n`;
    const attempt = async (node: ServerProcess): Promise<number> => {
      const smtp = await SmtpTestClient.open(smtpPort(node));
      try {
        await smtp.command('EHLO client.example.org');
        if ((await smtp.command('MAIL FROM:<sender@example.org>')).code !== 250) return 0;
        if ((await smtp.command('RCPT TO:<carol@localhost>')).code !== 250) return 0;
        return (await smtp.data(body)).code;
      } finally {
        await smtp.command('QUIT').catch(() => undefined);
      }
    };
    const codes = await Promise.all(Array.from({ length: 50 }, (_, i) => attempt(nodes[i % 2] as ServerProcess)));
    const accepted = codes.filter((c) => c === 250).length;
    assert.equal(accepted, QUOTA_COPIES, `replies: ${codes.join(' ')}`);
    assert.ok(codes.every((c) => c === 250 || c === 0 || (c >= 400 && c < 600)));
    const sql = postgres(url, { onnotice: () => undefined });
    try {
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM messages WHERE user_name = 'carol'`;
      assert.equal(row?.n, QUOTA_COPIES);
      const [blobs] = await sql<{ n: number }[]>`SELECT count(DISTINCT blob)::int AS n FROM messages WHERE user_name = 'carol'`;
      assert.equal(blobs?.n, 1, 'one stored body for all copies');
    } finally {
      await sql.end();
    }
  });

  it('lets node B take over after node A is killed mid-session, without applying its DELEs', async () => {
    const [a] = nodes as [ServerProcess];
    const onA = await login(viaA, 'carol');
    assert.match(await onA.command(`STAT`), new RegExp(`^\\+OK ${QUOTA_COPIES} `));
    assert.match(await onA.command('DELE 1'), /^\+OK/);
    assert.match(await onA.command('DELE 2'), /^\+OK/);
    await a.stop('SIGKILL');
    onA.close();

    // Until the lease runs out the maildrop stays locked; then node B gets it.
    let answer = '';
    for (let i = 0; i < 100; i++) {
      const c = await WireClient.connect(viaB);
      await c.line();
      await c.command('USER carol');
      answer = await c.command('PASS carol-pw');
      if (answer.startsWith('+OK')) {
        assert.match(await c.command('STAT'), new RegExp(`^\\+OK ${QUOTA_COPIES} `), 'the dead session deleted nothing');
        assert.match(await c.command('QUIT'), /^\+OK/);
        c.close();
        break;
      }
      c.close();
      assert.match(answer, /^-ERR \[IN-USE\]/);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.match(answer, /^\+OK/, 'node B took the maildrop over');
  });
});

async function login(port: number, user: string): Promise<WireClient> {
  const c = await WireClient.connect(port);
  assert.match(await c.line(), /^\+OK/);
  assert.match(await c.command(`USER ${user}`), /^\+OK/);
  const pass = await c.command(`PASS ${user}-pw`);
  assert.match(pass, /^\+OK/, `login of ${user} on ${port}`);
  return c;
}

/** A request to a node's HTTP API with the admin token from its data directory. */
async function httpCall(node: ServerProcess, config: string, method: string, path: string, body?: unknown): Promise<Response> {
  const base = /HTTP API on (http:\/\/\S+) /.exec(node.stderr())?.[1];
  assert.ok(base, 'the node serves the HTTP API');
  const token = (await readFile(join(dirname(config), 'data', 'admin-token'), 'utf8')).trim();
  return fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
