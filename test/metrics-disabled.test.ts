import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pop3Client } from '../src/client/index.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { api } from './support/http-api.js';

/* [metrics] enabled = false, what bench --metrics-overhead compares against: no series move, the rest works. */
describe('[metrics] enabled = false', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ users: { bob: 'bob-pw' }, config: { metrics: { enabled: false } } });
  });
  after(() => server.close());

  it('records no POP3, SMTP or store series, while sessions and mail work as before', async () => {
    await server.deliver('bob', 'Subject: counted?\r\n\r\nno\r\n');
    const client = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
    await client.login('bob', 'bob-pw');
    assert.equal((await client.stat()).count, 1);
    const sessions = (await api(server, 'GET', '/api/v1/sessions')).json as { sessions: { user: string | null }[] };
    assert.ok(sessions.sessions.some((s) => s.user === 'bob'), 'the sessions list still fills');
    await client.quit();
    const text = (await api(server, 'GET', '/metrics', { auth: null })).text;
    assert.match(text, /^postel_pop3_connections_total 0$/m);
    assert.doesNotMatch(text, /^postel_pop3_commands_total\{/m);
    assert.doesNotMatch(text, /^postel_store_operation_duration_seconds_count\{/m);
    assert.match(text, /^postel_process_cpu_seconds_total /m, 'process metrics stay');
  });
});
