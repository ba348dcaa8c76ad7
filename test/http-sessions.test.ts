import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { api, SchemaChecker } from './support/http-api.js';
import { waitFor } from './support/wait-for.js';
import { WireClient } from './support/wire-client.js';

type Listed = { sessions: { protocol: string; id: string; user: string | null; state: string }[]; lockedMaildrops: string[] };

describe('sessions API and POP3 metrics', () => {
  let server: TestServer;
  let schema: SchemaChecker;

  before(async () => {
    server = await startTestServer({ users: { sam: 'sam-pw' } });
    schema = await SchemaChecker.of(server);
    await server.deliver('sam', 'Subject: one\n\nbody one\n');
    await server.deliver('sam', 'Subject: two\n\nbody two\n');
  });
  after(() => server.close());

  const counter = async (name: string, labels: Record<string, string> = {}): Promise<number> => {
    const text = await (await fetch(`${server.http.url}/metrics`)).text();
    const family = parsePrometheusTextFormat(text).find((f) => f.name === name);
    assert.ok(family, `${name} present`);
    if (family.type === 'HISTOGRAM') {
      let sum = 0;
      for (const m of text.matchAll(new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
        if (Object.entries(labels).every(([k, v]) => (m[1] ?? '').includes(`${k}="${v}"`))) sum += Number(m[2]);
      }
      return sum;
    }
    return family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((s, m) => s + Number(m.value ?? 0), 0);
  };

  it('POP3 commands, logins, RETR bytes and lock conflicts move the metrics', async () => {
    const before = {
      connections: await counter('postel_pop3_connections_total'),
      retrOk: await counter('postel_pop3_commands_total', { command: 'RETR', result: 'ok' }),
      retrErr: await counter('postel_pop3_commands_total', { command: 'RETR', result: 'err' }),
      unknown: await counter('postel_pop3_commands_total', { command: 'UNKNOWN', result: 'err' }),
      bytes: await counter('postel_pop3_retr_bytes_total'),
      loginOk: await counter('postel_auth_attempts_total', { protocol: 'pop3', mechanism: 'USER', result: 'success' }),
      loginFail: await counter('postel_auth_attempts_total', { protocol: 'pop3', mechanism: 'USER', result: 'failure' }),
      conflicts: await counter('postel_pop3_lock_conflicts_total'),
      durations: await counter('postel_pop3_command_duration_seconds', { command: 'RETR' }),
    };
    const first = await WireClient.connect(server.pop3.port);
    await first.line();
    await first.command('USER sam');
    assert.match(await first.command('PASS wrong'), /^-ERR \[AUTH\]/);
    await first.command('USER sam');
    assert.match(await first.command('PASS sam-pw'), /^\+OK/);
    assert.equal(await counter('postel_pop3_active_sessions'), 1);
    const retr = await first.multi('RETR 1');
    assert.match(retr.status, /^\+OK/);
    assert.match(await first.command('RETR 9'), /^-ERR/);
    assert.match(await first.command('FROB'), /^-ERR/);
    // A second session for the same user meets the lock.
    const second = await WireClient.connect(server.pop3.port);
    await second.line();
    await second.command('USER sam');
    assert.match(await second.command('PASS sam-pw'), /^-ERR \[IN-USE\]/);
    second.close();
    await first.command('QUIT');
    first.close();
    await waitFor(async () => (await counter('postel_pop3_active_sessions')) === 0, 'the condition');

    assert.equal((await counter('postel_pop3_connections_total')) - before.connections, 2);
    assert.equal((await counter('postel_pop3_commands_total', { command: 'RETR', result: 'ok' })) - before.retrOk, 1);
    assert.equal((await counter('postel_pop3_commands_total', { command: 'RETR', result: 'err' })) - before.retrErr, 1);
    assert.equal((await counter('postel_pop3_commands_total', { command: 'UNKNOWN', result: 'err' })) - before.unknown, 1);
    assert.ok((await counter('postel_pop3_retr_bytes_total')) - before.bytes >= 'Subject: one\r\n\r\nbody one\r\n'.length);
    // The second session's password was right: it counts as a success, then meets the lock.
    assert.equal((await counter('postel_auth_attempts_total', { protocol: 'pop3', mechanism: 'USER', result: 'success' })) - before.loginOk, 2);
    assert.equal((await counter('postel_auth_attempts_total', { protocol: 'pop3', mechanism: 'USER', result: 'failure' })) - before.loginFail, 1);
    assert.equal((await counter('postel_pop3_lock_conflicts_total')) - before.conflicts, 1);
    assert.equal((await counter('postel_pop3_command_duration_seconds', { command: 'RETR' })) - before.durations, 2);
  });

  it('lists POP3 and SMTP sessions with the locked maildrops; ending one commits nothing', async () => {
    const pop3 = await WireClient.connect(server.pop3.port);
    await pop3.line();
    await pop3.command('USER sam');
    assert.match(await pop3.command('PASS sam-pw'), /^\+OK/);
    assert.match(await pop3.command('DELE 1'), /^\+OK/);
    const smtp = connect(server.smtp.port, '127.0.0.1');
    const smtpLines: string[] = [];
    smtp.setEncoding('utf8');
    smtp.on('data', (d: string) => smtpLines.push(d));
    await waitFor(() => smtpLines.join('').startsWith('220'), 'the condition');

    const r = await api(server, 'GET', '/api/v1/sessions');
    assert.equal(r.status, 200);
    schema.check('GET', '/api/v1/sessions', 200, r.json);
    const listed = r.json as Listed;
    const p = listed.sessions.find((s) => s.protocol === 'pop3');
    const s = listed.sessions.find((x) => x.protocol === 'smtp');
    assert.ok(p && s);
    assert.equal(p.user, 'sam');
    assert.equal(p.state, 'TRANSACTION');
    assert.equal(s.state, 'smtp');
    assert.deepEqual(listed.lockedMaildrops, ['sam']);
    assert.equal((await api(server, 'GET', '/api/v1/sessions', { auth: { basic: ['sam', 'sam-pw'] } })).status, 403);

    assert.equal((await api(server, 'DELETE', `/api/v1/sessions/${p.id}`)).status, 204);
    assert.match(await pop3.line(), /^-ERR \[SYS\/TEMP\] Session ended by the administrator/);
    pop3.close();
    assert.equal((await api(server, 'DELETE', `/api/v1/sessions/${s.id}`)).status, 204);
    await waitFor(() => /^421 4\.3\.2 Session ended/m.test(smtpLines.join('')), 'the condition');
    smtp.destroy();
    const gone = await api(server, 'DELETE', `/api/v1/sessions/${p.id}`);
    assert.equal(gone.status, 404);
    schema.check('DELETE', '/api/v1/sessions/{id}', 404, gone.json);
    assert.equal((await api(server, 'DELETE', '/api/v1/sessions/..%2F..')).status, 400);
    // DELE was not committed: both messages are still there.
    await waitFor(async () => (await api(server, 'GET', '/api/v1/mailboxes/sam/messages')).status === 200, 'the condition');
    assert.equal(((await api(server, 'GET', '/api/v1/mailboxes/sam/messages')).json as { total: number }).total, 2);
  });
});
