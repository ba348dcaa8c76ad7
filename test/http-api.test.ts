import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validate } from '@readme/openapi-parser';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { api, SchemaChecker, type ApiResponse } from './support/http-api.js';
import { waitFor } from './support/wait-for.js';
import { WireClient } from './support/wire-client.js';

const MIXED = [
  'From: Shop <shop@example.test>',
  'To: Alice <alice@postel.test>',
  'Subject: Your receipt',
  'Date: Tue, 01 Dec 2026 10:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Thanks! Confirm at <a href="https://shop.example.test/confirm?t=abc&amp;x=1">this link</a>. Code 482913.</p>',
  '--b1',
  'Content-Type: application/pdf',
  'Content-Disposition: attachment; filename="receipt.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('%PDF-1.4 fake').toString('base64'),
  '--b1--',
  '',
].join('\n');

const plain = (subject: string, date: string, body = 'hello'): string =>
  `From: Bob <bob@example.test>\nTo: alice@postel.test\nSubject: ${subject}\nDate: ${date}\n\n${body}\n`;

function errorCode(r: ApiResponse): string {
  return (r.json as { error: { code: string } }).error.code;
}

describe('HTTP API', () => {
  let server: TestServer;
  let schema: SchemaChecker;
  const alice: [string, string] = ['alice', 'alice-pw'];

  before(async () => {
    server = await startTestServer({ users: { alice: 'alice-pw', carol: 'carol-pw' }, });
    schema = await SchemaChecker.of(server);
  });
  after(() => server.close());

  it('serves a valid OpenAPI 3.1 document generated from the routes, without credentials', async () => {
    const doc = await api(server, 'GET', '/api/v1/openapi.json', { auth: null });
    const result = await validate(structuredClone(doc.json) as Parameters<typeof validate>[0]);
    assert.equal(result.valid, true, JSON.stringify(result));
    const paths = Object.keys((doc.json as { paths: object }).paths);
    for (const p of ['/livez', '/readyz', '/metrics', '/api/v1/users', '/api/v1/mailboxes/{user}/messages', '/api/v1/mailboxes/{user}/messages/{id}/raw', '/api/v1/send', '/api/v1/messages/wait', '/api/v1/events', '/api/v1/metrics/history']) {
      assert.ok(paths.includes(p), `${p} documented`);
    }
  });

  it('answers /livez and /readyz without credentials', async () => {
    for (const path of ['/livez', '/readyz']) {
      const r = await api(server, 'GET', path, { auth: null });
      assert.equal(r.status, 200);
      schema.check('GET', path, 200, r.json);
    }
  });

  it('the admin token is DATA/admin-token, mode 0600', async () => {
    const { stat } = await import('node:fs/promises');
    const path = join(server.dataDir, 'admin-token');
    assert.equal((await readFile(path, 'utf8')).trim(), server.http.token);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  describe('authentication', () => {
    it('refuses a request without credentials with 401, a challenge and a JSON error', async () => {
      const r = await api(server, 'GET', '/api/v1/users', { auth: null });
      assert.equal(r.status, 401);
      assert.match(r.headers.get('www-authenticate') ?? '', /Basic realm="postel".*Bearer/);
      assert.equal(errorCode(r), 'unauthorized');
      schema.check('GET', '/api/v1/users', 401, r.json);
    });

    it('refuses a wrong token and a wrong password', async () => {
      assert.equal((await api(server, 'GET', '/api/v1/users', { auth: { bearer: 'x'.repeat(43) } })).status, 401);
      assert.equal((await api(server, 'GET', '/api/v1/mailboxes/alice/messages', { auth: { basic: ['alice', 'wrong'] } })).status, 401);
    });

    it('lets a user see only their own mailbox, and nothing that needs the admin', async () => {
      const own = await api(server, 'GET', '/api/v1/mailboxes/alice/messages', { auth: { basic: alice } });
      assert.equal(own.status, 200);
      const other = await api(server, 'GET', '/api/v1/mailboxes/carol/messages', { auth: { basic: alice } });
      assert.equal(other.status, 403);
      assert.equal(errorCode(other), 'forbidden');
      const users = await api(server, 'GET', '/api/v1/users', { auth: { basic: alice } });
      assert.equal(users.status, 403);
      const list = await api(server, 'GET', '/api/v1/mailboxes', { auth: { basic: alice } });
      assert.deepEqual(list.json, { mailboxes: [{ user: 'alice' }] });
      schema.check('GET', '/api/v1/mailboxes', 200, list.json);
    });

    it('spends the same AuthPolicy budget as POP3: an address blocked over HTTP is blocked for POP3 too', async () => {
      // Runs last in this group: it blocks 127.0.0.1 on a server of its own.
      const own = await startTestServer({ users: { dave: 'dave-pw' }, config: { auth: { max_failures_per_ip: 3 } } });
      try {
        assert.equal((await api(own, 'GET', '/api/v1/mailboxes/dave/messages', { auth: { basic: ['dave', 'guess1'] } })).status, 401);
        assert.equal((await api(own, 'GET', '/api/v1/mailboxes/dave/messages', { auth: { basic: ['nobody/../x', 'guess2'] } })).status, 401);
        assert.equal((await api(own, 'GET', '/api/v1/users', { auth: { bearer: 'not-the-token' } })).status, 401);
        // Three failures: the address is blocked, the right password over HTTP is refused unchecked...
        const blocked = await api(own, 'GET', '/api/v1/mailboxes/dave/messages', { auth: { basic: ['dave', 'dave-pw'] } });
        assert.equal(blocked.status, 401);
        assert.match((blocked.json as { error: { message: string } }).error.message, /too many failed logins/);
        // ...and over POP3.
        const client = await WireClient.connect(own.pop3.port);
        await client.line();
        await client.command('USER dave');
        assert.match(await client.command('PASS dave-pw'), /^-ERR \[SYS\/TEMP\] Too many failed logins/);
        client.close();
        const metrics = await api(own, 'GET', '/metrics', { auth: null });
        assert.match(metrics.text, /postel_auth_attempts_total\{protocol="http",mechanism="BASIC",result="failure"\} 2/);
        assert.match(metrics.text, /postel_auth_attempts_total\{protocol="http",mechanism="BEARER",result="failure"\} 1/);
        assert.match(metrics.text, /postel_auth_attempts_total\{protocol="http",mechanism="BASIC",result="blocked"\} 1/);
        assert.match(metrics.text, /postel_auth_attempts_total\{protocol="pop3",mechanism="USER",result="blocked"\} 1/);
      } finally {
        await own.close();
      }
    });
  });

  describe('users', () => {
    it('lists, adds, changes passwords, sets quotas and removes, like `postel user`', async () => {
      const added = await api(server, 'POST', '/api/v1/users', { body: { name: 'erin', password: 'erin-pw' } });
      assert.equal(added.status, 201, added.text);
      schema.check('POST', '/api/v1/users', 201, added.json);
      assert.deepEqual(added.json, { name: 'erin', quota: null, usage: 0 });
      const again = await api(server, 'POST', '/api/v1/users', { body: { name: 'erin', password: 'x' } });
      assert.equal(again.status, 409);
      assert.equal(errorCode(again), 'user_exists');

      // The new user can use their password over the API and over POP3.
      assert.equal((await api(server, 'GET', '/api/v1/mailboxes/erin/messages', { auth: { basic: ['erin', 'erin-pw'] } })).status, 200);
      const pw = await api(server, 'PUT', '/api/v1/users/erin/password', { body: { password: 'new-pw' } });
      assert.equal(pw.status, 204);
      assert.equal((await api(server, 'GET', '/api/v1/mailboxes/erin/messages', { auth: { basic: ['erin', 'new-pw'] } })).status, 200);
      const client = await WireClient.connect(server.pop3.port);
      await client.line();
      await client.command('USER erin');
      assert.match(await client.command('PASS new-pw'), /^\+OK/);
      await client.command('QUIT');
      client.close();

      const quota = await api(server, 'PUT', '/api/v1/users/erin/quota', { body: { bytes: 5000 } });
      assert.equal(quota.status, 200);
      schema.check('PUT', '/api/v1/users/{name}/quota', 200, quota.json);
      assert.equal((quota.json as { quota: number }).quota, 5000);
      assert.match(await readFile(join(server.dataDir, 'users'), 'utf8'), /^erin:.*quota=5000/m);

      const list = await api(server, 'GET', '/api/v1/users');
      assert.equal(list.status, 200);
      schema.check('GET', '/api/v1/users', 200, list.json);
      assert.ok((list.json as { users: { name: string }[] }).users.some((u) => u.name === 'erin'));

      assert.equal((await api(server, 'DELETE', '/api/v1/users/erin')).status, 204);
      const gone = await api(server, 'DELETE', '/api/v1/users/erin');
      assert.equal(gone.status, 404);
      schema.check('DELETE', '/api/v1/users/{name}', 404, gone.json);
      assert.equal((await api(server, 'GET', '/api/v1/mailboxes/erin/messages', { auth: { basic: ['erin', 'new-pw'] } })).status, 401);
    });
  });

  describe('messages', () => {
    before(async () => {
      await server.deliver('alice', plain('First', 'Mon, 30 Nov 2026 09:00:00 +0000'));
      await server.deliver('alice', plain('Second', 'Mon, 30 Nov 2026 12:00:00 +0000', 'x'.repeat(3000)));
      await server.deliver('alice', MIXED);
    });

    it('lists newest first, with paging', async () => {
      const page = await api(server, 'GET', '/api/v1/mailboxes/alice/messages?limit=2');
      assert.equal(page.status, 200);
      schema.check('GET', '/api/v1/mailboxes/{user}/messages', 200, page.json);
      const body = page.json as { total: number; unread: number; messages: { subject: string }[] };
      assert.equal(body.total, 3);
      assert.equal(body.unread, 3);
      assert.deepEqual(body.messages.map((m) => m.subject), ['Your receipt', 'Second']);
      const next = (await api(server, 'GET', '/api/v1/mailboxes/alice/messages?limit=2&start=2')).json as { messages: { subject: string }[] };
      assert.deepEqual(next.messages.map((m) => m.subject), ['First']);
    });

    it('searches with Mailpit-style operators', async () => {
      const subjects = async (query: string): Promise<string[]> => {
        const r = await api(server, 'GET', `/api/v1/mailboxes/alice/messages?query=${encodeURIComponent(query)}`);
        assert.equal(r.status, 200, r.text);
        return (r.json as { messages: { subject: string }[] }).messages.map((m) => m.subject);
      };
      assert.deepEqual(await subjects('from:shop'), ['Your receipt']);
      assert.deepEqual(await subjects('from:bob'), ['Second', 'First']);
      assert.deepEqual(await subjects('to:alice subject:first'), ['First']);
      assert.deepEqual(await subjects('subject:"your receipt"'), ['Your receipt']);
      assert.deepEqual(await subjects('before:2026-11-30T10:00:00Z'), ['First']);
      assert.deepEqual(await subjects('after:2026-12-01'), ['Your receipt']);
      assert.deepEqual(await subjects('larger:2k'), ['Second']);
      assert.deepEqual(await subjects('has:attachment'), ['Your receipt']);
      assert.deepEqual(await subjects('-has:attachment is:unread'), ['Second', 'First']);
      assert.deepEqual(await subjects('confirm'), ['Your receipt']);
      assert.deepEqual(await subjects('nothing-like-this'), []);
      const bad = await api(server, 'GET', `/api/v1/mailboxes/alice/messages?query=${encodeURIComponent('larger:lots')}`);
      assert.equal(bad.status, 400);
      assert.equal(errorCode(bad), 'bad_query');
    });

    it('gives one message parsed, raw, its headers and its attachments; `latest` is the newest', async () => {
      const parsed = await api(server, 'GET', '/api/v1/mailboxes/alice/messages/latest');
      assert.equal(parsed.status, 200);
      schema.check('GET', '/api/v1/mailboxes/{user}/messages/{id}', 200, parsed.json);
      const m = parsed.json as { id: string; subject: string; html: string; attachments: { filename: string; size: number; contentType: string }[] };
      assert.equal(m.subject, 'Your receipt');
      assert.match(m.html, /this link/);
      assert.deepEqual(m.attachments.map((a) => [a.filename, a.contentType, a.size]), [['receipt.pdf', 'application/pdf', 13]]);

      const byId = await api(server, 'GET', `/api/v1/mailboxes/alice/messages/${encodeURIComponent(m.id)}`);
      assert.equal((byId.json as { subject: string }).subject, 'Your receipt');

      const raw = await api(server, 'GET', `/api/v1/mailboxes/alice/messages/${m.id}/raw`);
      assert.equal(raw.status, 200);
      assert.equal(raw.headers.get('content-type'), 'message/rfc822');
      assert.equal(raw.text, MIXED.replace(/\n/g, '\r\n'));

      const headers = await api(server, 'GET', `/api/v1/mailboxes/alice/messages/${m.id}/headers`);
      schema.check('GET', '/api/v1/mailboxes/{user}/messages/{id}/headers', 200, headers.json);
      assert.deepEqual((headers.json as { headers: { name: string; value: string }[] }).headers[2], { name: 'Subject', value: 'Your receipt' });

      const res = await fetch(`${server.http.url}/api/v1/mailboxes/alice/messages/${m.id}/attachments/0`, { headers: { authorization: `Bearer ${server.http.token}` } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/pdf');
      assert.equal(Buffer.from(await res.arrayBuffer()).toString(), '%PDF-1.4 fake');
      assert.equal((await api(server, 'GET', `/api/v1/mailboxes/alice/messages/${m.id}/attachments/1`)).status, 404);
      assert.equal((await api(server, 'GET', '/api/v1/mailboxes/alice/messages/NOSUCHID/raw')).status, 404);
    });

    it('reads a mailbox while a POP3 session holds it (mail delivered meanwhile too), refuses deletes with 409 until it ends', async () => {
      await server.addUser('frank', 'frank-pw');
      await server.deliver('frank', plain('before', 'Mon, 30 Nov 2026 09:00:00 +0000'));
      const client = await WireClient.connect(server.pop3.port);
      await client.line();
      await client.command('USER frank');
      assert.match(await client.command('PASS frank-pw'), /^\+OK/);
      const uidl = (await client.command('UIDL 1')).split(' ')[2];
      await server.deliver('frank', plain('during', 'Mon, 30 Nov 2026 09:01:00 +0000', 'sent while frank was connected'));
      const listed = await api(server, 'GET', '/api/v1/mailboxes/frank/messages');
      assert.equal(listed.status, 200, listed.text);
      schema.check('GET', '/api/v1/mailboxes/{user}/messages', 200, listed.json);
      const [during, before] = (listed.json as { messages: { id: string; subject: string }[] }).messages;
      assert.deepEqual([during?.subject, before?.subject], ['during', 'before']);
      assert.equal(before?.id, uidl);
      // Not numbered yet (only the lock holder numbers mail): a provisional id that works.
      assert.match(during?.id ?? '', /^~/);
      const raw = await api(server, 'GET', `/api/v1/mailboxes/frank/messages/${encodeURIComponent(during?.id ?? '')}/raw`);
      assert.equal(raw.status, 200);
      assert.match(raw.text, /sent while frank was connected\r\n$/);
      // Reading took nothing from the session: it goes on, and deletes wait for it.
      assert.match(await client.command('STAT'), /^\+OK 1 /);
      const locked = await api(server, 'DELETE', `/api/v1/mailboxes/frank/messages/${uidl}`);
      assert.equal(locked.status, 409);
      assert.equal(errorCode(locked), 'maildrop_locked');
      schema.check('DELETE', '/api/v1/mailboxes/{user}/messages/{id}', 409, locked.json);
      assert.match(await client.command('QUIT'), /^\+OK/);
      client.close();
      // The first read after the session numbers the new message (under the lock, for a moment).
      let numbered: { messages: { id: string; subject: string }[] } = { messages: [] };
      await waitFor(async () => {
        numbered = (await api(server, 'GET', '/api/v1/mailboxes/frank/messages')).json as typeof numbered;
        return /^[0-9A-F]{16}$/.test(numbered.messages[0]?.id ?? '');
      }, 'the new message numbered');
      // The provisional id still names the same message, for reading and for deleting.
      assert.equal(((await api(server, 'GET', `/api/v1/mailboxes/frank/messages/${encodeURIComponent(during?.id ?? '')}`)).json as { subject: string }).subject, 'during');
      const gone = await api(server, 'DELETE', `/api/v1/mailboxes/frank/messages/${encodeURIComponent(during?.id ?? '')}`);
      assert.deepEqual(gone.json, { deleted: [numbered.messages[0]?.id] });
      assert.equal((await api(server, 'GET', `/api/v1/mailboxes/frank/messages/${encodeURIComponent(during?.id ?? '')}`)).status, 404);
    });

    it('deletes one message, then by search, then purges', async () => {
      await server.deliver('carol', plain('c1', 'Mon, 30 Nov 2026 09:00:00 +0000'));
      await server.deliver('carol', plain('c2', 'Mon, 30 Nov 2026 09:00:00 +0000'));
      await server.deliver('carol', plain('keep', 'Mon, 30 Nov 2026 09:00:00 +0000'));
      await server.deliver('carol', plain('c3', 'Mon, 30 Nov 2026 09:00:00 +0000'));
      const one = await api(server, 'DELETE', '/api/v1/mailboxes/carol/messages/latest');
      assert.equal(one.status, 200);
      schema.check('DELETE', '/api/v1/mailboxes/{user}/messages/{id}', 200, one.json);
      assert.equal((one.json as { deleted: string[] }).deleted.length, 1);
      const subjects = async (): Promise<string[]> => ((await api(server, 'GET', '/api/v1/mailboxes/carol/messages')).json as { messages: { subject: string }[] }).messages.map((m) => m.subject);
      assert.deepEqual(await subjects(), ['keep', 'c2', 'c1']);
      const bySearch = await api(server, 'DELETE', `/api/v1/mailboxes/carol/messages?query=${encodeURIComponent('-subject:keep')}`);
      assert.equal((bySearch.json as { deleted: string[] }).deleted.length, 2);
      assert.deepEqual(await subjects(), ['keep']);
      const purge = await api(server, 'DELETE', '/api/v1/mailboxes/carol/messages');
      assert.equal((purge.json as { deleted: string[] }).deleted.length, 1);
      assert.deepEqual(await subjects(), []);
      // POP3 sees the same.
      const client = await WireClient.connect(server.pop3.port);
      await client.line();
      await client.command('USER carol');
      assert.match(await client.command('PASS carol-pw'), /^\+OK carol's maildrop has 0 messages/);
      await client.command('QUIT');
      client.close();
    });
  });

  describe('bad input', () => {
    const usersFile = (): Promise<string> => readFile(join(server.dataDir, 'users'), 'utf8');

    it('malformed JSON, unknown fields, wrong types and oversize bodies get 4xx JSON errors and change nothing', async () => {
      const before = await usersFile();
      const cases: { body: string | Uint8Array; status: number }[] = [
        { body: '{"name": "mallory", "password": ', status: 400 },
        { body: '{"name": "mallory", "password": "pw", "admin": true}', status: 400 },
        { body: '{"name": 5, "password": "pw"}', status: 400 },
        { body: '[]', status: 400 },
        { body: JSON.stringify({ name: 'mallory', password: 'x'.repeat(11 * 1024 * 1024) }), status: 413 },
      ];
      for (const c of cases) {
        const r = await api(server, 'POST', '/api/v1/users', { rawBody: c.body });
        assert.equal(r.status, c.status, `${String(c.body).slice(0, 60)} -> ${r.status} ${r.text.slice(0, 200)}`);
        assert.equal(typeof (r.json as { error: { code: string; message: string } }).error.message, 'string');
      }
      assert.equal(await usersFile(), before);
    });

    it('path tricks in user names and ids get 4xx JSON errors and reach nothing', async () => {
      const before = await usersFile();
      for (const path of [
        '/api/v1/mailboxes/..%2F..%2Fetc/messages',
        '/api/v1/mailboxes/..%2Fcarol/messages',
        '/api/v1/mailboxes/.hidden/messages',
        '/api/v1/mailboxes/alice%00/messages',
        '/api/v1/mailboxes/alice/messages/..%2F..%2Fusers/raw',
        '/api/v1/mailboxes/alice/messages/%20x/raw',
        '/api/v1/users/..%2Falice/password',
      ]) {
        const method = path.endsWith('/password') ? 'PUT' : 'GET';
        const r = await api(server, method, path, method === 'PUT' ? { body: { password: 'pw' } } : {});
        assert.ok(r.status >= 400 && r.status < 500, `${path} -> ${r.status}`);
        assert.equal(typeof (r.json as { error: { code: string } }).error.code, 'string', path);
      }
      const del = await api(server, 'DELETE', '/api/v1/mailboxes/..%2Falice/messages');
      assert.ok(del.status >= 400 && del.status < 500);
      assert.equal(((await api(server, 'GET', '/api/v1/mailboxes/alice/messages')).json as { total: number }).total, 3);
      assert.equal(await usersFile(), before);
    });

    it('unknown query parameters and endpoints are refused', async () => {
      const r = await api(server, 'GET', '/api/v1/mailboxes/alice/messages?limt=5');
      assert.equal(r.status, 400);
      assert.equal(errorCode(r), 'invalid_request');
      const n = await api(server, 'GET', '/api/v1/nope');
      assert.equal(n.status, 404);
      assert.equal(errorCode(n), 'not_found');
    });
  });
});
