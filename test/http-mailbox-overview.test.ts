import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pop3Client } from '../src/client/index.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { api, SchemaChecker } from './support/http-api.js';

describe('GET /api/v1/mailboxes/overview', () => {
  let server: TestServer;
  let schema: SchemaChecker;

  before(async () => {
    server = await startTestServer({ users: { bob: 'bob-pw', ann: 'ann-pw' } });
    schema = await SchemaChecker.of(server);
    await server.deliver('bob', 'Subject: one\r\n\r\nfirst\r\n');
    await server.deliver('bob', 'Subject: two\r\n\r\nsecond\r\n');
    await api(server, 'PUT', '/api/v1/users/ann/quota', { body: { bytes: 5000 } });
  });
  after(() => server.close());

  type Row = { user: string; messages: number | null; size: number; quota: number | null; lastLogin: string | null; lockedBy: { session: string; remote: string; since: string } | null };

  it('gives the admin every mailbox with its count, size, quota and POP3 lock holder', async () => {
    const before = await api(server, 'GET', '/api/v1/mailboxes/overview');
    assert.equal(before.status, 200, before.text);
    schema.check('GET', '/api/v1/mailboxes/overview', 200, before.json);
    const rows = (before.json as { mailboxes: Row[] }).mailboxes;
    const bob = rows.find((m) => m.user === 'bob');
    assert.equal(bob?.messages, 2);
    assert.ok((bob?.size ?? 0) > 0);
    assert.equal(bob?.lockedBy, null);
    assert.deepEqual({ ...rows.find((m) => m.user === 'ann') }, { user: 'ann', messages: 0, size: 0, quota: 5000, lastLogin: null, lockedBy: null });
    assert.equal(bob?.lastLogin, null, 'never logged in');

    const client = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
    const loginFrom = Date.now();
    await client.login('bob', 'bob-pw');
    const loginTo = Date.now();
    try {
      const r = await api(server, 'GET', '/api/v1/mailboxes/overview');
      assert.equal(r.status, 200, r.text);
      schema.check('GET', '/api/v1/mailboxes/overview', 200, r.json);
      const locked = (r.json as { mailboxes: Row[] }).mailboxes.find((m) => m.user === 'bob');
      assert.equal(locked?.lockedBy?.remote, '127.0.0.1');
      assert.equal(locked?.messages, 2, 'a locked maildrop is counted all the same (views take no lock)');
      const at = Date.parse(locked?.lastLogin ?? '');
      assert.ok(at >= loginFrom && at <= loginTo, `last login ${locked?.lastLogin} is the login just made`);
    } finally {
      await client.quit();
    }
    const unlocked = (await api(server, 'GET', '/api/v1/mailboxes/overview')).json as { mailboxes: Row[] };
    assert.equal(unlocked.mailboxes.find((m) => m.user === 'bob')?.lockedBy, null, 'the lock is gone with the session');
  });

  it('shows a user only their own mailbox', async () => {
    const r = await api(server, 'GET', '/api/v1/mailboxes/overview', { auth: { basic: ['ann', 'ann-pw'] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((r.json as { mailboxes: Row[] }).mailboxes.map((m) => m.user), ['ann']);
    assert.equal((await api(server, 'GET', '/api/v1/mailboxes/overview', { auth: null })).status, 401);
  });
});
