import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fetchAccount, Pop3ConnectionError, Pop3InUseError, Pop3LoginDelayError, PolicyError, type AccountSettings, type FetchEvent } from '../src/client/index.js';
import { startFakePop3, wireMessage, type FakeMessage, type FakePop3Options } from './support/client-fake-pop3.js';
import { maildirContents } from './support/client-scenarios.js';

/*
 * The fetcher when the server fails: a connection dropped in the middle of a message,
 * refusals with [IN-USE] and [LOGIN-DELAY], a server without UIDL. Nothing half-delivered,
 * nothing deleted that was not delivered, and the next run completes the job exactly once.
 */

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'postel-fetch-errors-'));
});
after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const MESSAGES: FakeMessage[] = [1, 2, 3].map((n) => ({ uid: `uid-${n}`, content: wireMessage([`Subject: ${n}`, '', `body of message ${n}`, 'x'.repeat(200)]) }));
const asStored = (m: FakeMessage): string => String(m.content).replace(/\r\n/g, '\n');

let serial = 0;
async function fetchFrom(options: FakePop3Options, dir: string, keep = false): Promise<{ result: Awaited<ReturnType<typeof fetchAccount>>; deleted: string[]; events: FetchEvent[] }> {
  const server = await startFakePop3({ messages: MESSAGES, ...options });
  const events: FetchEvent[] = [];
  try {
    const account: AccountSettings = {
      name: 'fake',
      host: '127.0.0.1',
      port: server.port,
      tls: 'none',
      allowPlaintext: true,
      tlsOptions: {},
      timeoutMs: 5000,
      user: 'alice',
      auth: 'user',
      secret: async () => 'secret',
      policy: { keep, oversize: 'skip', fetchAll: false },
      destination: { kind: 'maildir', path: join(dir, 'Maildir') },
    };
    const result = await fetchAccount(account, { stateDir: join(dir, 'state'), onEvent: (e) => events.push(e) });
    return { result, deleted: [...server.deleted], events };
  } finally {
    await server.stop();
  }
}

test('the connection drops in the middle of message 2: 1 is kept, 2 leaves no trace, nothing is deleted; the next run finishes', async () => {
  const dir = join(work, `d${++serial}`);
  const broken = await fetchFrom({ dropRetr: { message: 2, afterBytes: 40 } }, dir);
  assert.ok(broken.result.error instanceof Pop3ConnectionError, String(broken.result.error));
  assert.equal(broken.result.delivered, 1);
  assert.deepEqual(broken.deleted, [], 'without QUIT the server deletes nothing');
  assert.deepEqual(await maildirContents(join(dir, 'Maildir')), [asStored(MESSAGES[0] as FakeMessage)]);
  assert.deepEqual(await readdir(join(dir, 'Maildir', 'tmp')), [], 'no partial message left in tmp/');
  assert.ok(!broken.events.some((e) => e.type === 'warning'), 'no noise about DELEs after the drop');

  const healed = await fetchFrom({}, dir);
  assert.equal(healed.result.error, undefined, healed.result.error?.stack);
  assert.equal(healed.result.delivered, 2);
  assert.deepEqual(healed.deleted.sort(), ['uid-1', 'uid-2', 'uid-3'], 'message 1, delivered before, is deleted now');
  assert.deepEqual(await maildirContents(join(dir, 'Maildir')), MESSAGES.map(asStored).sort());
});

test('[IN-USE] and [LOGIN-DELAY] end the account with typed, temporary errors', async () => {
  const inUse = await fetchFrom({ passAnswer: '-ERR [IN-USE] locked' }, join(work, `d${++serial}`));
  assert.ok(inUse.result.error instanceof Pop3InUseError);
  assert.equal((inUse.result.error as Pop3InUseError).temporary, true);
  const delayed = await fetchFrom({ passAnswer: '-ERR [LOGIN-DELAY] wait', capa: ['USER', 'UIDL', 'RESP-CODES', 'LOGIN-DELAY 600'] }, join(work, `d${++serial}`));
  assert.ok(delayed.result.error instanceof Pop3LoginDelayError);
  assert.equal((delayed.result.error as Pop3LoginDelayError).delaySeconds, 600);
  assert.equal(delayed.result.delivered, 0);
});

test('a server without UIDL cannot tell new from old: a clear error, nothing fetched', async () => {
  const dir = join(work, `d${++serial}`);
  const r = await fetchFrom({ override: (line, conn) => (line === 'UIDL' ? (conn.write('-ERR unknown command\r\n'), true) : false) }, dir, true);
  assert.ok(r.result.error instanceof PolicyError, String(r.result.error));
  assert.match(r.result.error?.message ?? '', /does not support UIDL/);
  assert.deepEqual(await maildirContents(join(dir, 'Maildir')), []);
});

test('a message that vanished (-ERR to RETR) is counted as failed; the others arrive', async () => {
  const dir = join(work, `d${++serial}`);
  const r = await fetchFrom({ override: (line, conn) => (line === 'RETR 2' ? (conn.write('-ERR no such message\r\n'), true) : false) }, dir);
  assert.equal(r.result.error, undefined);
  assert.deepEqual([r.result.delivered, r.result.failed], [2, 1]);
  assert.deepEqual(r.deleted.sort(), ['uid-1', 'uid-3']);
});
