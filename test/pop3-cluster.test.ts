import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openEvents, readEvents } from './support/http-api.js';
import { startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { SmtpTestClient } from './support/smtp-client.js';
import { WireClient } from './support/wire-client.js';

/** Every process whose parent is `pid` (the POP3 workers of a cluster). */
async function childrenOf(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import('node:fs/promises');
  const out: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'latin1').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === pid) out.push(Number(name));
  }
  return out;
}

async function login(port: number, user: string, password: string): Promise<{ client: WireClient; reply: string }> {
  const client = await WireClient.connect(port);
  await client.line();
  await client.command(`USER ${user}`);
  return { client, reply: await client.command(`PASS ${password}`) };
}

describe('pop3.workers: POP3 served by several processes', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  let workers: number[];

  before(async () => {
    env = await tempDataDir('workers = 2\n[auth]\nmax_failures_per_ip = 2\n[chaos]\nenabled = true\n');
    const data = join(env.dir, 'data');
    await mkdir(join(data, 'mail', 'alice', 'new'), { recursive: true });
    await writeFile(join(data, 'users'), 'alice:{PLAIN}secret::::::\ncarol:{PLAIN}pw::::::\n');
    await writeFile(join(data, 'mail', 'alice', 'new', '1700000000.M1P1.test,S=20,W=22'), 'Subject: hi\n\nhello\n');
    server = await startServerProcess(['--config', env.config]);
    workers = await childrenOf(server.pid);
  });
  after(async () => {
    await server?.stop();
    await env?.cleanup();
  });

  it('starts the configured number of workers, which all serve', async () => {
    assert.equal(workers.length, 2, `workers: ${workers.join(', ')}`);
    for (let i = 0; i < 6; i++) {
      const { client, reply } = await login(server.port, 'alice', 'secret');
      assert.match(reply, /^\+OK/);
      assert.match(await client.command('STAT'), /^\+OK 1 22/);
      assert.match(await client.command('QUIT'), /^\+OK/);
      client.close();
    }
  });

  it('/metrics sums the workers: POP3 series move whichever worker served, exactly, in one exposition', async () => {
    const url = /HTTP API on (http:\/\/\S+) /.exec(server.stderr())?.[1];
    assert.ok(url, server.stderr());
    const scrape = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
    const value = (text: string, series: string): number => Number(new RegExp(`^${series.replace(/[{}"=,.+]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const sessions = 6;
    // Each session: USER, PASS (a login, the maildrop opened), RETR 1 (22 octets on the wire), QUIT.
    const moved: Record<string, number> = {
      postel_pop3_connections_total: sessions,
      'postel_pop3_commands_total{command="USER",result="ok"}': sessions,
      'postel_pop3_commands_total{command="PASS",result="ok"}': sessions,
      'postel_pop3_commands_total{command="RETR",result="ok"}': sessions,
      'postel_pop3_commands_total{command="QUIT",result="ok"}': sessions,
      'postel_pop3_command_duration_seconds_count{command="RETR"}': sessions,
      'postel_pop3_command_duration_seconds_bucket{le="+Inf",command="QUIT"}': sessions,
      postel_pop3_retr_bytes_total: sessions * 22,
      'postel_auth_attempts_total{protocol="pop3",mechanism="USER",result="success"}': sessions,
      'postel_store_operation_duration_seconds_count{op="open"}': sessions,
    };
    const before = await scrape();
    for (let i = 0; i < sessions; i++) {
      const { client, reply } = await login(server.port, 'alice', 'secret');
      assert.match(reply, /^\+OK/);
      assert.equal((await client.multi('RETR 1')).status.slice(0, 3), '+OK');
      assert.match(await client.command('QUIT'), /^\+OK/);
      client.close();
    }
    const delta = (text: string, series: string): number => value(text, series) - value(before, series);
    // A worker records QUIT once its answer is written: give the last one a moment.
    let text = await scrape();
    for (let i = 0; i < 50 && delta(text, 'postel_pop3_commands_total{command="QUIT",result="ok"}') < sessions; i++) {
      await new Promise((r) => setTimeout(r, 20));
      text = await scrape();
    }
    // One HELP line per family: the workers' series were merged, not concatenated.
    assert.equal(text.match(/^# HELP postel_pop3_connections_total /gm)?.length, 1);
    assert.equal(text.match(/^# HELP postel_pop3_command_duration_seconds /gm)?.length, 1);
    assert.deepEqual(Object.fromEntries(Object.keys(moved).map((series) => [series, delta(text, series)])), moved, text.slice(0, 3000));
  });

  it('keeps a maildrop to one session across processes', async () => {
    // Hold sessions until both workers have one: whichever gets the second, it must refuse.
    const held: WireClient[] = [];
    try {
      const first = await login(server.port, 'alice', 'secret');
      held.push(first.client);
      assert.match(first.reply, /^\+OK/);
      for (let i = 0; i < 8; i++) {
        const next = await login(server.port, 'alice', 'secret');
        held.push(next.client);
        assert.match(next.reply, /^-ERR \[IN-USE\]/);
      }
    } finally {
      for (const c of held) c.close();
    }
  });

  // Before the AuthPolicy tests block 127.0.0.1, which the admin's HTTP requests come from too.
  it('lists the workers\' POP3 sessions, ends one on request, and streams their events', { timeout: 60_000 }, async () => {
    const url = /HTTP API on (http:\/\/\S+) /.exec(server.stderr())?.[1];
    assert.ok(url, server.stderr());
    const token = (await readFile(join(env.dir, 'data', 'admin-token'), 'utf8')).trim();
    const admin = { http: { url, token } };
    const call = (method: string, path: string): Promise<Response> => fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
    const { res, abort } = await openEvents(admin, '?types=session.start,session.end');
    try {
      let ended = '';
      const reading = readEvents(res, (events) => events.some((e) => e.event === 'session.end' && e.data['session'] === ended));
      const { client, reply } = await login(server.port, 'alice', 'secret');
      assert.match(reply, /^\+OK/);
      const listed = (await (await call('GET', '/api/v1/sessions')).json()) as { sessions: { id: string; protocol: string; user: string | null; state: string }[]; lockedMaildrops: string[] };
      const alice = listed.sessions.find((s) => s.protocol === 'pop3' && s.user === 'alice');
      assert.ok(alice, JSON.stringify(listed));
      assert.equal(alice.state, 'TRANSACTION');
      assert.deepEqual(listed.lockedMaildrops, ['alice']);
      ended = alice.id;
      assert.equal((await call('DELETE', `/api/v1/sessions/${alice.id}`)).status, 204);
      // The worker ended it: the client hears so and the maildrop is free for the next login.
      assert.match(await client.line(), /^-ERR/);
      client.close();
      assert.equal((await call('DELETE', `/api/v1/sessions/${alice.id}`)).status, 404);
      const events = await reading;
      const start = events.find((e) => e.event === 'session.start');
      assert.equal(start?.data['protocol'], 'pop3');
      assert.equal(start?.data['session'], alice.id);
      const after = (await (await call('GET', '/api/v1/sessions')).json()) as { sessions: { id: string }[] };
      assert.ok(!after.sessions.some((s) => s.id === alice.id));
    } finally {
      abort.abort();
    }
  });

  it('carries chaos rules into every worker, and takes them away', { timeout: 60_000 }, async () => {
    const url = /HTTP API on (http:\/\/\S+) /.exec(server.stderr())?.[1];
    const token = (await readFile(join(env.dir, 'data', 'admin-token'), 'utf8')).trim();
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const put = await fetch(`${url}/api/v1/chaos`, { method: 'PUT', headers, body: JSON.stringify({ pop3Errors: [{ command: 'STAT', code: 'SYS/TEMP' }] }) });
    assert.equal(put.status, 200);
    // Sessions until both workers have answered one: each must inject the fault.
    for (let i = 0; i < 6; i++) {
      const { client, reply } = await login(server.port, 'alice', 'secret');
      assert.match(reply, /^\+OK/);
      assert.match(await client.command('STAT'), /^-ERR \[SYS\/TEMP\]/);
      await client.command('QUIT');
      client.close();
    }
    assert.equal((await fetch(`${url}/api/v1/chaos`, { method: 'DELETE', headers })).status, 204);
    for (let i = 0; i < 6; i++) {
      const { client, reply } = await login(server.port, 'alice', 'secret');
      assert.match(reply, /^\+OK/);
      assert.match(await client.command('STAT'), /^\+OK/);
      await client.command('QUIT');
      client.close();
    }
  });

  it('shares the AuthPolicy between workers: an address blocked by one is blocked by all', async () => {
    for (let i = 0; i < 2; i++) {
      const { client, reply } = await login(server.port, 'carol', 'wrong');
      assert.match(reply, /^-ERR \[AUTH\]/);
      client.close();
    }
    // A failure reaches the other workers a moment later; every attempt after it is refused
    // unchecked, the right password too, whichever worker answers.
    let refused = 0;
    for (let i = 0; i < 200 && refused < 6; i++) {
      const { client, reply } = await login(server.port, 'carol', 'pw');
      client.close();
      if (/Too many failed logins/.test(reply)) refused++;
      else assert.equal(refused, 0, 'once refused, always refused');
    }
    assert.equal(refused, 6);
  });

  it('submission in the main process learns the failures the workers counted: the blocked address gets 454 there too', async () => {
    const port = Number(/submission on 127\.0\.0\.1:(\d+)/.exec(server.stderr())?.[1]);
    assert.ok(port > 0, server.stderr());
    let reply = '';
    for (let i = 0; i < 100 && !reply.startsWith('454'); i++) {
      const c = await SmtpTestClient.open(port);
      await c.command('EHLO client.test');
      reply = (await c.command(`AUTH PLAIN ${Buffer.from('\0carol\0pw').toString('base64')}`)).raw;
      c.close();
      if (!reply.startsWith('454')) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(reply, '454 4.7.0 Too many failed logins; try again later');
  });

  it('stops every worker with the main process', async () => {
    assert.equal(await server.stop(), 0);
    for (const pid of workers) {
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} still running`);
    }
  });
});

describe('pop3.workers: the snapshot of a large maildrop', { skip: process.platform !== 'linux' ? 'reads /proc' : false }, () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  /** Snapshot files are written for maildrops of this many messages and more (snapshot-cache.ts). */
  const messages = 10_000;

  before(async () => {
    env = await tempDataDir('workers = 2\n[log]\nlevel = "debug"\n');
    const data = join(env.dir, 'data');
    const dir = join(data, 'mail', 'dora', 'new');
    await mkdir(dir, { recursive: true });
    for (const sub of ['cur', 'tmp']) await mkdir(join(data, 'mail', 'dora', sub));
    await writeFile(join(data, 'users'), 'dora:{PLAIN}secret::::::\n');
    for (let i = 0; i < messages; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, k) => writeFile(join(dir, `${1700000000 + i + k}.M1P1.test,S=20,W=22`), 'Subject: hi\n\nhello\n')));
    }
    // Older than the racy window of the directory's timestamp, as mail that has waited is.
    await new Promise((r) => setTimeout(r, 2100));
    server = await startServerProcess(['--config', env.config]);
  });
  after(async () => {
    await server?.stop();
    await env?.cleanup();
  });

  it('is taken in by every worker once one has listed it, so the next poll is cheap on any of them', { timeout: 60_000 }, async () => {
    const { client, reply } = await login(server.port, 'dora', 'secret');
    assert.match(reply, /^\+OK/);
    assert.match(await client.command('STAT'), new RegExp(`^\\+OK ${messages} ${messages * 22}`));
    assert.match(await client.command('QUIT'), /^\+OK/);
    client.close();
    const lines = (): { worker?: number; event?: string; adopted?: boolean; user?: string }[] =>
      server
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { worker?: number; event?: string; adopted?: boolean; user?: string });
    const served = lines().find((l) => l.event === 'login' && l.user === 'dora')?.worker;
    assert.ok(served, 'the login is logged with its worker');
    let adopted: { worker?: number; adopted?: boolean } | undefined;
    for (let i = 0; i < 200 && !adopted; i++) {
      adopted = lines().find((l) => l.event === 'snapshot_adopted');
      if (!adopted) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(adopted, `the other worker heard of the snapshot file: ${server.stdout().split('\n').filter((l) => /snapshot|dora/.test(l)).join('\n').slice(0, 3000)}`);
    assert.notEqual(adopted.worker, served, 'taken in by the worker that did not list it');
    assert.equal(adopted.adopted, true);

    // Either worker answers the next sessions with the same maildrop.
    for (let i = 0; i < 4; i++) {
      const next = await login(server.port, 'dora', 'secret');
      assert.match(next.reply, /^\+OK/);
      assert.match(await next.client.command('STAT'), new RegExp(`^\\+OK ${messages} ${messages * 22}`));
      assert.match(await next.client.command('QUIT'), /^\+OK/);
      next.client.close();
    }
  });
});
