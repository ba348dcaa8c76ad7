import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { api, openEvents, readEvents } from './support/http-api.js';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';
import { SmtpTestClient } from './support/smtp-client.js';
import { waitFor } from './support/wait-for.js';

/*
 * Two nodes (each its own services, database pool and LISTEN connection) on one real
 * PostgreSQL: mail delivered through node B shows on node A's events stream and ends node A's
 * wait, through LISTEN/NOTIFY alone (with PostgreSQL, waits never rescan).
 */

const skip = postgresUnavailable();

async function sendThrough(node: TestServer, subject: string, body: string): Promise<void> {
  const smtp = await SmtpTestClient.open(node.smtp.port);
  try {
    assert.equal((await smtp.command('EHLO client.example.org')).code, 250);
    assert.equal((await smtp.command('MAIL FROM:<sender@example.org>')).code, 250);
    assert.equal((await smtp.command('RCPT TO:<alice@postel.test>')).code, 250);
    assert.equal((await smtp.data(`Subject: ${subject}\r\n\r\n${body}\r\n`)).code, 250);
    await smtp.command('QUIT');
  } finally {
    smtp.close();
  }
}

describe('events, waits and readiness of two nodes on one PostgreSQL', { skip }, () => {
  let cluster: PostgresCluster;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    cluster = await startPostgres();
    const url = await cluster.createDatabase();
    a = await startTestServer({ users: { alice: 'alice-pw' }, config: { store: { url, migrate: true } } });
    b = await startTestServer({ users: { alice: 'alice-pw' }, config: { store: { url } } });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.stop();
  });

  it('streams message.new on node A for mail delivered through node B, once for each message', { timeout: 60_000 }, async () => {
    const { res, abort } = await openEvents(a, '?types=message.new');
    try {
      const reading = readEvents(res, (events) => events.length >= 2);
      // One through A itself, then one through B: if A also announced its own delivery a
      // second time (its NOTIFY), that would come between the two.
      await sendThrough(a, 'via A', 'short');
      await sendThrough(b, 'via B', 'a longer body, so that the two sizes differ');
      const events = await reading;
      assert.deepEqual(events.map((e) => e.event), ['message.new', 'message.new']);
      assert.deepEqual(events.map((e) => e.data['user']), ['alice', 'alice']);
      const [viaA, viaB] = events.map((e) => e.data['size'] as number);
      assert.ok(typeof viaA === 'number' && typeof viaB === 'number' && viaB > viaA, `sizes ${viaA}, ${viaB}`);
    } finally {
      abort.abort();
    }
  });

  it('ends a wait on node A when node B stores the message', { timeout: 90_000 }, async () => {
    assert.equal(a.services.mailRescanMs, undefined, 'nothing but notifications can end the wait');
    const waiting = api(a, 'GET', `/api/v1/messages/wait?subject=${encodeURIComponent('code from B')}&timeout=60`);
    // The wait has looked once and found nothing: this node's events stream proves it is subscribed.
    const { res, abort } = await openEvents(a, '?types=message.new');
    try {
      const reading = readEvents(res, (events) => events.length >= 1);
      await sendThrough(b, 'code from B', 'Your code is 640218.');
      await reading;
    } finally {
      abort.abort();
    }
    const answer = await waiting;
    assert.equal(answer.status, 200, answer.text);
    const found = answer.json as { user: string; message: { subject: string }; code: string | null };
    assert.equal(found.user, 'alice');
    assert.equal(found.message.subject, 'code from B');
    assert.equal(found.code, '640218');
  });

  it('/readyz checks the database: 503 while PostgreSQL is stopped, 200 again once it is back', { timeout: 120_000 }, async () => {
    assert.equal((await api(a, 'GET', '/readyz', { auth: null })).status, 200);
    await cluster.kill();
    try {
      const down = await api(a, 'GET', '/readyz', { auth: null });
      assert.equal(down.status, 503);
      assert.deepEqual(down.json, { status: 'store unavailable' });
    } finally {
      await cluster.start();
    }
    await waitFor(async () => (await api(a, 'GET', '/readyz', { auth: null })).status === 200, 'ready again');
  });
});
