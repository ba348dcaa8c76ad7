import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AccountState, fetchAccount, Pop3Client, stateFileName, type AccountSettings } from '../src/client/index.js';
import { maildirContents } from './support/client-scenarios.js';
import { waitFor } from './support/wait-for.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

/*
 * A mailbox of 10,000 messages of which 10 are new: the fetch lists them all (UIDL and LIST
 * of 10,000 lines) and downloads only the 10, as the server's own count of RETRs shows.
 */

const TOTAL = 10_000;
const NEW = 10;

let server: TestServer;
let work: string;
before(async () => {
  server = await startPop3TestServer();
  work = await mkdtemp(join(tmpdir(), 'postel-fetch-scale-'));
});
after(async () => {
  await server?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

test(`${TOTAL} messages on the server, ${NEW} new: only ${NEW} RETRs`, async () => {
  // Seeded the fast way, as another MDA would: files straight into new/, with W= sizes so
  // the server does not have to read them.
  const newDir = join(server.dataDir, 'mail', 'alice', 'new');
  await mkdir(newDir, { recursive: true });
  const writes: Promise<void>[] = [];
  for (let i = 0; i < TOTAL - NEW; i++) {
    const body = `Subject: old ${i}\n\nold message ${i}\n`;
    const wire = Buffer.byteLength(body) + body.split('\n').length - 1;
    writes.push(writeFile(join(newDir, `1700000000.S${i}.seed,S=${Buffer.byteLength(body)},W=${wire}`), body));
    if (writes.length >= 500) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);

  // The first 9,990 count as fetched before (imported into the state, as from fetchmail).
  const probe = await Pop3Client.connect({ host: '127.0.0.1', port: server.port, tls: 'none', timeoutMs: 30_000 });
  await probe.login('alice', 'secret');
  const old = await probe.uidl();
  assert.equal(old.length, TOTAL - NEW);
  await probe.quit();
  const stateDir = join(work, 'state');
  await mkdir(stateDir, { recursive: true });
  const account: AccountSettings = {
    name: 'alice@scale',
    host: '127.0.0.1',
    port: server.port,
    tls: 'none',
    allowPlaintext: true,
    tlsOptions: {},
    timeoutMs: 30_000,
    user: 'alice',
    auth: 'user',
    secret: async () => 'secret',
    policy: { keep: true, oversize: 'skip', fetchAll: false },
    destination: { kind: 'maildir', path: join(work, 'Maildir') },
  };
  const state = await AccountState.open(join(stateDir, `${stateFileName(account.name)}.state`), account.name);
  await state.importDelivered(old.map((e) => e.uid), new Date());
  await state.close();

  for (let i = 0; i < NEW; i++) await server.deliver('alice', `Subject: new ${i}\n\nnew message ${i}\n`);
  const result = await fetchAccount(account, { stateDir });
  assert.equal(result.error, undefined, result.error?.stack);
  assert.deepEqual([result.messages, result.delivered], [TOTAL, NEW]);
  const delivered = await maildirContents(join(work, 'Maildir'));
  assert.deepEqual(delivered, Array.from({ length: NEW }, (_, i) => `Subject: new ${i}\n\nnew message ${i}\n`).sort());

  const sessions = await waitFor(() => {
    const ends = server.logs.filter((l) => l['event'] === 'session_end' && l['user'] === 'alice');
    return ends.length >= 2 ? ends : undefined;
  }, 'both sessions to end');
  assert.equal(sessions[1]?.['retr'], NEW, 'the server answered exactly 10 RETRs');
  assert.equal(sessions[1]?.['top'], 0);
});
