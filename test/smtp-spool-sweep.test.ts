import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { addUser } from './support/interop-cli.js';
import { startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { SmtpTestClient, envelope } from './support/smtp-client.js';

function smtpPort(server: ServerProcess): number {
  const port = /^ {2}SMTP on 127\.0\.0\.1:(\d+)/m.exec(server.stderr())?.[1];
  assert.ok(port, server.stderr());
  return Number(port);
}

async function listOrEmpty(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** Polls (bounded) until `check` holds; the condition is a file appearing, not a time. */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await sleep(20);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('SMTP spool and queue after a crash', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let data: string;
  before(async () => {
    env = await tempDataDir();
    data = join(env.dir, 'data');
    await addUser(env.config, 'alice', 'pw-alice');
  });
  after(() => env?.cleanup());

  it('a DATA cut short by SIGKILL leaves a spool file that the next start removes; nothing was delivered', async () => {
    const first = await startServerProcess(['--config', env.config]);
    let client: SmtpTestClient | undefined;
    try {
      client = await SmtpTestClient.open(smtpPort(first));
      await envelope(client, 'sender@remote.test', ['alice@localhost']);
      assert.equal((await client.command('DATA')).code, 354);
      // Larger than SPOOL_IN_MEMORY: it goes to a file.
      client.send(`Subject: half\r\n\r\n${'x'.repeat(256 * 1024)}\r\n`);
      await until('the spool file', async () => (await listOrEmpty(join(data, 'spool'))).length === 1);
    } finally {
      assert.equal(await first.stop('SIGKILL'), null);
      client?.close();
    }
    assert.equal((await listOrEmpty(join(data, 'spool'))).length, 1, 'SIGKILL left the spool file');

    const second = await startServerProcess(['--config', env.config]);
    try {
      assert.deepEqual(await listOrEmpty(join(data, 'spool')), []);
      assert.ok(second.logs().some((l) => l.event === 'spool_swept' && l.removed === 1), second.stdout());
      assert.deepEqual(await listOrEmpty(join(data, 'mail', 'alice', 'new')), []);
    } finally {
      await second.stop();
    }
  });

  it('queue debris is removed and an entry whose message is lost is returned to its sender', async () => {
    const queue = join(data, 'queue');
    await mkdir(queue, { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    // A .msg whose .json never came (never acknowledged) and a temp file of an interrupted save.
    await writeFile(join(queue, 'debris.1.msg'), 'Subject: x\r\n\r\nhalf');
    await writeFile(join(queue, '.debris.2.json.123.abc.tmp'), '{');
    for (const name of ['debris.1.msg', '.debris.2.json.123.abc.tmp']) await utimes(join(queue, name), old, old);
    // An acknowledged entry whose message file was lost.
    const entry = {
      id: 'lost.1',
      from: 'alice@localhost',
      createdAt: old.toISOString(),
      attempts: 1,
      nextAttemptAt: new Date(Date.now() + 3600_000).toISOString(),
      recipients: [{ address: 'bob@remote.test', state: 'pending' }],
    };
    await writeFile(join(queue, 'lost.1.json'), JSON.stringify(entry));

    const server = await startServerProcess(['--config', env.config]);
    try {
      await until('the queue to be settled', async () => (await listOrEmpty(queue)).every((n) => !n.startsWith('lost.1.')) && (await listOrEmpty(join(data, 'mail', 'alice', 'new'))).length === 1);
      assert.deepEqual((await listOrEmpty(queue)).filter((n) => n.includes('debris') || n.startsWith('lost.')), []);
      const logs = server.logs();
      assert.equal(logs.filter((l) => l.event === 'queue_debris_removed').length, 2, server.stdout());
      assert.ok(logs.some((l) => l.event === 'queue_entry_without_message' && l.id === 'lost.1'));
      const [bounce] = await listOrEmpty(join(data, 'mail', 'alice', 'new'));
      const text = await readFile(join(data, 'mail', 'alice', 'new', bounce as string), 'utf8');
      assert.match(text, /bob@remote\.test/);
      assert.match(text, /lost/);
    } finally {
      await server.stop();
    }
  });
});
