import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { maildirContents } from './support/client-scenarios.js';
import { waitFor } from './support/wait-for.js';
import { runCli } from './support/server-process.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

/*
 * Exactly once, shown with SIGKILL: `postel fetch --delete` is killed at each step of a
 * message's way (POSTEL_FETCH_CRASH makes it kill itself there), then run again. After
 * the second run every message is at the destination exactly once and gone from the
 * server, whatever step the first run died at.
 */

const STEPS = [
  // [crash point, occurrence]: per-message points on the 2nd message, the others once.
  ['after-pending', 2],
  ['mid-deliver', 2],
  ['after-deliver', 2],
  ['after-record', 2],
  ['after-dele', 1],
  ['after-quit', 1],
] as const;

const message = (n: number): string => `Subject: crash test ${n}\nMessage-ID: <crash${n}@example.org>\n\nbody ${n}\nFrom a line that mboxrd quotes\n.\n${'y'.repeat(4000)}\n`;

describe('exactly once when killed at any step', { concurrency: 4 }, () => {
  let server: TestServer;
  let work: string;
  let serial = 0;
  before(async () => {
    server = await startPop3TestServer({ users: {} });
    work = await mkdtemp(join(tmpdir(), 'postel-fetch-crash-'));
  });
  after(async () => {
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const prepare = async (): Promise<{ user: string; dir: string; run: (deliver: string, crash?: string) => ReturnType<typeof runCli>; sessionsEnded: (n: number) => Promise<void> }> => {
    const user = `crash${++serial}`;
    await server.users.add(user, 'pw', { cost: { ln: 4 } });
    for (const n of [1, 2, 3]) await server.deliver(user, message(n));
    const dir = join(work, user);
    const run = (deliver: string, crash?: string): ReturnType<typeof runCli> =>
      runCli(
        ['fetch', '--server', `pop3://${user}@127.0.0.1:${server.port}`, '--allow-plaintext', '--password-env', 'PW', '--deliver', deliver, '--delete', '--data', join(dir, 'state')],
        '',
        { ...process.env, PW: 'pw', ...(crash !== undefined ? { POSTEL_FETCH_CRASH: crash } : {}) },
      );
    const sessionsEnded = async (n: number): Promise<void> => {
      // The next run must not find the killed session still holding the maildrop.
      await waitFor(() => (server.logs.filter((l) => l['event'] === 'session_end' && l['user'] === user).length >= n ? true : undefined), `${n} sessions of ${user} to end`);
    };
    return { user, dir, run, sessionsEnded };
  };

  const remaining = async (user: string): Promise<number> => {
    const maildrop = await server.store.openMaildrop(user, {});
    try {
      return maildrop.messages.length;
    } finally {
      await maildrop.release();
    }
  };

  for (const [step, occurrence] of STEPS) {
    test(`maildir, killed ${step}${occurrence > 1 ? ` (message ${occurrence})` : ''}`, async () => {
      const { user, dir, run, sessionsEnded } = await prepare();
      const maildir = join(dir, 'Maildir');
      const killed = await run(`maildir:${maildir}`, `${step}:${occurrence}`);
      assert.equal(killed.code, null, `the first run must die by SIGKILL: ${killed.stderr}`);
      await sessionsEnded(1);
      const second = await run(`maildir:${maildir}`);
      assert.equal(second.code, 0, second.stderr);
      assert.deepEqual(await maildirContents(maildir), [1, 2, 3].map(message).sort(), 'each message exactly once');
      assert.equal(await remaining(user), 0, 'all deleted on the server');
    });

    test(`mbox, killed ${step}${occurrence > 1 ? ` (message ${occurrence})` : ''}`, async () => {
      const { user, dir, run, sessionsEnded } = await prepare();
      const mbox = join(dir, 'mbox');
      const killed = await run(`mbox:${mbox}`, `${step}:${occurrence}`);
      assert.equal(killed.code, null, `the first run must die by SIGKILL: ${killed.stderr}`);
      await sessionsEnded(1);
      const second = await run(`mbox:${mbox}`);
      assert.equal(second.code, 0, second.stderr);
      const text = await readFile(mbox, 'utf8');
      assert.equal(text.match(/^From MAILER-DAEMON /gm)?.length, 3, text.slice(0, 2000));
      for (const n of [1, 2, 3]) assert.equal(text.split(`Subject: crash test ${n}\n`).length - 1, 1, `message ${n} exactly once`);
      assert.equal(text.match(/^>From a line that mboxrd quotes$/gm)?.length, 3);
      assert.equal(await remaining(user), 0, 'all deleted on the server');
    });
  }

  test('an MDA cannot be asked afterwards: killed after its delivery, the message comes again, with a warning', async () => {
    const { dir, run, sessionsEnded } = await prepare();
    const out = join(dir, 'mda.out');
    const killed = await run(`mda:cat >> ${out}`, 'after-deliver:1');
    assert.equal(killed.code, null);
    await sessionsEnded(1);
    const second = await run(`mda:cat >> ${out}`);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /interrupted and cannot be checked .* delivered again \(possibly twice\)/);
    const text = await readFile(out, 'utf8');
    assert.equal(text.split('Subject: crash test 1\n').length - 1, 2, 'at least once: the first message twice');
    assert.equal(text.split('Subject: crash test 2\n').length - 1, 1);
  });
});
