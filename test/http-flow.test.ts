import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTransport } from 'nodemailer';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Pop3Client } from '../src/client/index.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { waitForMessage } from '../src/http/wait.js';
import { api, openEvents, readEvents, SchemaChecker } from './support/http-api.js';
import { waitFor } from './support/wait-for.js';

describe('HTTP API with real clients', () => {
  let server: TestServer;
  let schema: SchemaChecker;

  before(async () => {
    server = await startTestServer({ users: { bob: 'bob-pw', ann: 'ann-pw' } });
    schema = await SchemaChecker.of(server);
  });
  after(() => server.close());

  it('nodemailer sends over SMTP, the wait API finds it with its link and code, the POP3 client fetches the same message', async () => {
    const waiting = api(server, 'GET', `/api/v1/messages/wait?to=bob%40postel.test&subject=Reset&timeout=20`);
    const transport = createTransport({ host: server.smtp.host, port: server.smtp.port, ignoreTLS: true });
    const sent = await transport.sendMail({
      from: 'app@example.test',
      to: 'bob@postel.test',
      subject: 'Reset your password',
      text: 'Your code is 731904. Or open https://app.example.test/reset?token=q1w2e3 to continue.',
    });
    transport.close();
    const r = await waiting;
    assert.equal(r.status, 200, r.text);
    schema.check('GET', '/api/v1/messages/wait', 200, r.json);
    const found = r.json as { user: string; link: string; code: string; message: { id: string; messageId: string } };
    assert.equal(found.user, 'bob');
    assert.equal(found.link, 'https://app.example.test/reset?token=q1w2e3');
    assert.equal(found.code, '731904');
    assert.equal(found.message.messageId, sent.messageId);

    const raw = await api(server, 'GET', `/api/v1/mailboxes/bob/messages/${found.message.id}/raw`);
    const client = await Pop3Client.connect({ host: server.pop3.host, port: server.pop3.port, tls: 'none' });
    await client.login('bob', 'bob-pw');
    const uidl = (await client.uidl()) as { number: number; uid: string }[];
    const entry = uidl.find((u) => u.uid === found.message.id);
    assert.ok(entry, 'the API id is the POP3 UIDL');
    const chunks: Buffer[] = [];
    for await (const chunk of await client.retr(entry.number)) chunks.push(chunk as Buffer);
    await client.quit();
    assert.equal(Buffer.concat(chunks).toString('latin1'), raw.text);
  });

  it('a wait ends on the delivery event alone (no rescan), looking only at the mailbox that got mail', async () => {
    const http = server.services.http;
    assert.ok(http);
    const scanned: string[] = [];
    const watched = {
      scan: (user: string, terms: Parameters<typeof http.mailboxes.scan>[1]) => {
        scanned.push(user);
        return http.mailboxes.scan(user, terms);
      },
    } as typeof http.mailboxes;
    const waiting = waitForMessage(watched, server.services.events, { users: async () => ['bob', 'ann'], query: 'subject:evented', timeoutMs: 60_000 });
    await waitFor(() => scanned.length === 2, 'the first look at both mailboxes');
    await server.deliver('ann', 'Subject: evented\r\n\r\nfor ann\r\n');
    const found = await waiting;
    assert.equal(found?.user, 'ann');
    assert.deepEqual(scanned, ['bob', 'ann', 'ann']);
  });

  it('the wait API answers 408 when nothing matches in time', async () => {
    const r = await api(server, 'GET', '/api/v1/messages/wait?subject=never-sent&timeout=0.2');
    assert.equal(r.status, 408);
    schema.check('GET', '/api/v1/messages/wait', 408, r.json);
  });

  it('POST /api/v1/send composes MIME and delivers through the SMTP intake', async () => {
    const r = await api(server, 'POST', '/api/v1/send', {
      body: {
        from: 'robot@example.test',
        to: ['ann@postel.test'],
        subject: 'Report',
        text: 'see attached',
        html: '<b>see attached</b>',
        attachments: [{ filename: 'a.txt', contentType: 'text/plain', content: Buffer.from('attached text').toString('base64') }],
        headers: { 'X-Test': 'yes' },
      },
    });
    assert.equal(r.status, 200, r.text);
    schema.check('POST', '/api/v1/send', 200, r.json);
    assert.deepEqual((r.json as { accepted: string[] }).accepted, ['ann@postel.test']);
    const { message } = await server.waitForMessage('to:ann subject:Report has:attachment', 10_000);
    assert.equal(message.html, '<b>see attached</b>');
    assert.equal(message.attachments[0]?.filename, 'a.txt');
    const headers = (await api(server, 'GET', `/api/v1/mailboxes/ann/messages/${message.id}/headers`)).json as { headers: { name: string; value: string }[] };
    assert.ok(headers.headers.some((h) => h.name === 'Received'), 'went through the intake (trace field)');
    assert.ok(headers.headers.some((h) => h.name === 'X-Test' && h.value === 'yes'));

    const refused = await api(server, 'POST', '/api/v1/send', { body: { from: 'a@example.test', to: ['nobody@postel.test'], subject: 'x', text: 'x' } });
    assert.equal(refused.status, 422);
    assert.match((refused.json as { error: { message: string } }).error.message, /550/);
    const userSend = await api(server, 'POST', '/api/v1/send', { auth: { basic: ['ann', 'ann-pw'] }, body: { from: 'a@example.test', to: ['ann@postel.test'], text: 'x' } });
    assert.equal(userSend.status, 403);
  });

  it('streams events: message.new, message.deleted, login.failed; a user sees only their own mailbox', async () => {
    const admin = await openEvents(server);
    const user = await openEvents(server, '?types=message.new,message.deleted', `Basic ${Buffer.from('ann:ann-pw').toString('base64')}`);
    const adminEvents = readEvents(admin.res, (e) => e.some((x) => x.event === 'login.failed') && e.some((x) => x.event === 'message.deleted'));
    const userEvents = readEvents(user.res, (e) => e.some((x) => x.event === 'message.deleted'));
    await server.deliver('bob', 'Subject: for bob\n\nhi\n');
    await server.deliver('ann', 'Subject: for ann\n\nhi\n');
    assert.equal((await api(server, 'GET', '/api/v1/mailboxes/bob/messages', { auth: { basic: ['bob', 'wrong'] } })).status, 401);
    assert.equal((await api(server, 'DELETE', '/api/v1/mailboxes/ann/messages/latest')).status, 200);
    const seen = await adminEvents;
    const mine = await userEvents;
    admin.abort.abort();
    user.abort.abort();
    assert.deepEqual(seen.filter((e) => e.event === 'message.new').map((e) => e.data.user), ['bob', 'ann']);
    assert.deepEqual(seen.find((e) => e.event === 'login.failed')?.data.user, 'bob');
    assert.deepEqual(mine.map((e) => [e.event, e.data.user]), [['message.new', 'ann'], ['message.deleted', 'ann']]);
  });

  it('session.start and session.end for SMTP sessions', async () => {
    const { res, abort } = await openEvents(server, '?types=session.start,session.end');
    const events = readEvents(res, (e) => e.some((x) => x.event === 'session.end'));
    const transport = createTransport({ host: server.smtp.host, port: server.smtp.port, ignoreTLS: true });
    await transport.sendMail({ from: 'a@example.test', to: 'bob@postel.test', subject: 's', text: 's' });
    transport.close();
    const seen = await events;
    abort.abort();
    assert.deepEqual(seen.map((e) => [e.event, e.data.protocol]), [['session.start', 'smtp'], ['session.end', 'smtp']]);
  });

  it('/metrics parses as Prometheus text with the named series, and they move', async () => {
    type Families = { parsed: Map<string, ReturnType<typeof parsePrometheusTextFormat>[number]>; text: string };
    const read = async (): Promise<Families> => {
      const r = await fetch(`${server.http.url}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await r.text();
      return { parsed: new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f])), text };
    };
    const total = (families: Families, name: string, labels: Record<string, string> = {}): number => {
      const family = families.parsed.get(name);
      assert.ok(family, `${name} present`);
      if (family.type === 'HISTOGRAM') {
        // The parser loses histogram labels (prom-client writes `le` first): read the _count lines.
        let sum = 0;
        for (const m of families.text.matchAll(new RegExp(`^${name}_count\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
          if (Object.entries(labels).every(([k, v]) => (m[1] ?? '').includes(`${k}="${v}"`))) sum += Number(m[2]);
        }
        return sum;
      }
      return family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((sum, m) => sum + Number(m.value ?? 0), 0);
    };
    const before = await read();
    for (const name of [
      'postel_pop3_connections_total',
      'postel_pop3_active_sessions',
      'postel_pop3_commands_total',
      'postel_pop3_command_duration_seconds',
      'postel_pop3_retr_bytes_total',
      'postel_pop3_lock_conflicts_total',
      'postel_auth_attempts_total',
      'postel_smtp_messages_total',
      'postel_smtp_message_bytes_total',
      'postel_store_operation_duration_seconds',
      'postel_messages_stored',
      'postel_storage_bytes',
      'postel_process_cpu_seconds_total',
      'postel_nodejs_heap_size_used_bytes',
    ]) {
      assert.ok(before.parsed.has(name), `${name} present`);
    }
    const transport = createTransport({ host: server.smtp.host, port: server.smtp.port, ignoreTLS: true });
    await transport.sendMail({ from: 'a@example.test', to: 'bob@postel.test', subject: 'm', text: 'metrics' });
    await transport.sendMail({ from: 'a@example.test', to: 'nobody@postel.test', subject: 'm', text: 'metrics' }).catch(() => undefined);
    transport.close();
    const afterSend = await read();
    assert.equal(total(afterSend, 'postel_smtp_messages_total', { listener: 'smtp', result: 'accepted' }) - total(before, 'postel_smtp_messages_total', { listener: 'smtp', result: 'accepted' }), 1);
    assert.ok(total(afterSend, 'postel_smtp_message_bytes_total') > total(before, 'postel_smtp_message_bytes_total'));
    assert.ok(total(afterSend, 'postel_store_operation_duration_seconds', { op: 'deliver' }) > total(before, 'postel_store_operation_duration_seconds', { op: 'deliver' }));
    assert.ok(total(afterSend, 'postel_messages_stored') >= 1);
    assert.ok(total(afterSend, 'postel_storage_bytes') > 0);
  });

  it('/api/v1/metrics/history keeps one-minute samples of the main counters (admin only)', async () => {
    await server.services.http?.history.sample();
    const r = await api(server, 'GET', '/api/v1/metrics/history');
    assert.equal(r.status, 200);
    schema.check('GET', '/api/v1/metrics/history', 200, r.json);
    const samples = (r.json as { samples: { values: Record<string, number> }[] }).samples;
    assert.ok(samples.length >= 1);
    assert.ok((samples.at(-1)?.values.postel_smtp_messages_total ?? 0) >= 1);
    assert.equal((await api(server, 'GET', '/api/v1/metrics/history', { auth: { basic: ['bob', 'bob-pw'] } })).status, 403);
  });

  it('/readyz says 503 when the store is not reachable', async () => {
    const mail = join(server.dataDir, 'mail');
    await rename(mail, `${mail}.away`);
    try {
      const r = await api(server, 'GET', '/readyz', { auth: null });
      assert.equal(r.status, 503);
      schema.check('GET', '/readyz', 503, r.json);
    } finally {
      await rename(`${mail}.away`, mail);
    }
    assert.equal((await api(server, 'GET', '/readyz', { auth: null })).status, 200);
  });
});
