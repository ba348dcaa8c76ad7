/**
 * Fault injection: a full file system under a running postel. As root, this file re-runs
 * itself inside a private mount namespace (unshare -m) where a small tmpfs holds the data
 * directory, and fills it on purpose; otherwise it skips and says why.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it, test } from 'node:test';
import { addUser, describeRun, loginTo } from './support/interop-cli.js';
import { POSTEL_BIN, runCli, startServerProcess, type ServerProcess } from './support/server-process.js';
import { SmtpTestClient, envelope, type SmtpReply } from './support/smtp-client.js';
import { WireClient } from './support/wire-client.js';

const INNER = process.env['POSTEL_FAULT_INNER'] === '1';

function cannotRun(): string | undefined {
  if (process.platform !== 'linux') return 'needs Linux mount namespaces';
  if (process.getuid?.() !== 0) return 'not root: filling a file system needs a private tmpfs (unshare -m, mount -t tmpfs)';
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']);
  if (probe.error !== undefined || probe.status !== 0) return `unshare -m is not permitted here (${probe.error?.message ?? probe.stderr.toString().trim()})`;
  return undefined;
}

if (!INNER) {
  test('full disk: SMTP DATA, LMTP, postel deliver, QUIT with DELEs, users file, postel fetch, log output (tmpfs in a mount namespace)', (t) => {
    const reason = cannotRun();
    if (reason !== undefined) {
      t.skip(reason);
      return;
    }
    const env: NodeJS.ProcessEnv = { ...process.env, POSTEL_FAULT_INNER: '1' };
    delete env['NODE_TEST_CONTEXT'];
    const run = spawnSync('unshare', ['-m', '--propagation', 'private', process.execPath, '--test', '--test-reporter=tap', fileURLToPath(import.meta.url)], {
      env,
      encoding: 'utf8',
      timeout: 300_000,
    });
    const out = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, out);
    // Every case ran (none skipped), so a silent skip cannot pass for a pass.
    assert.match(out, /^# pass 7$/m, out);
    assert.match(out, /^# skipped 0$/m, out);
  });
} else {
  const mount = mkdtempSync(join(tmpdir(), 'postel-fault-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m,mode=0700', 'tmpfs', mount]);
  const work = mkdtempSync(join(tmpdir(), 'postel-fault-work-'));
  const data = join(mount, 'data');
  const config = join(work, 'postel.toml');
  const filler = join(mount, 'filler');

  /** Writes zeros until the file system says ENOSPC, down to the last byte. */
  function fill(): void {
    const fd = openSync(filler, 'a');
    try {
      for (const size of [1 << 20, 65536, 4096, 512, 1]) {
        const chunk = Buffer.alloc(size);
        for (;;) {
          try {
            writeSync(fd, chunk);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
            throw err;
          }
        }
      }
    } finally {
      closeSync(fd);
    }
  }
  function free(): void {
    unlinkSync(filler);
  }

  const list = async (dir: string): Promise<string[]> => (await readdir(dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();
  const maildir = (user: string, sub: string): string => join(data, 'mail', user, sub);
  async function messagesContaining(user: string, text: string): Promise<number> {
    let n = 0;
    for (const sub of ['new', 'cur']) for (const name of await list(maildir(user, sub))) if ((await readFile(join(maildir(user, sub), name), 'utf8')).includes(text)) n++;
    return n;
  }
  /** Nothing half-written: tmp/ and the spool are empty. */
  async function assertNoDebris(user: string): Promise<void> {
    assert.deepEqual(await list(maildir(user, 'tmp')), [], `${user}/tmp`);
    assert.deepEqual(await list(join(data, 'spool')), [], 'spool');
  }
  function port(server: ServerProcess, name: 'SMTP' | 'LMTP'): number {
    const m = new RegExp(`${name} on 127\\.0\\.0\\.1:(\\d+)`).exec(server.stderr());
    assert.ok(m, server.stderr());
    return Number(m[1]);
  }
  async function send(p: number, to: string, body: string, lmtp = false): Promise<SmtpReply> {
    const c = await SmtpTestClient.open(p);
    try {
      const [rcpt] = await envelope(c, 'sender@remote.test', [to], lmtp);
      assert.equal(rcpt?.code, 250, rcpt?.raw);
      return await c.data(`Subject: ${body}\n\n${body}\n`);
    } finally {
      c.close();
    }
  }

  after(() => {
    try {
      free();
    } catch {
      // already freed
    }
    execFileSync('umount', [mount]);
    rmSync(mount, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  describe('a full data file system', () => {
    let server: ServerProcess;
    before(async () => {
      await writeFile(config, `data_dir = ${JSON.stringify(data)}\nhostname = "fault.test"\n[auth]\nfailure_response_ms = 0\nmax_user_delay = 0\n`);
      for (const user of ['alice', 'dora', 'fred']) await addUser(config, user, `pw-${user}`);
      server = await startServerProcess(['--config', config]);
      // Directories exist before the disk fills, as on a server that has run for a while.
      assert.equal((await send(port(server, 'SMTP'), 'alice@localhost', 'before')).code, 250);
    });
    after(async () => {
      await server?.stop('SIGKILL');
    });

    it('SMTP DATA gets 452 4.3.1, leaves nothing behind, and the retry after space is freed is stored once', async () => {
      fill();
      try {
        const reply = await send(port(server, 'SMTP'), 'alice@localhost', 'smtp-during-full');
        assert.equal(reply.code, 452, reply.raw);
        assert.match(reply.text, /^4\.3\.1 /);
        assert.equal(await messagesContaining('alice', 'smtp-during-full'), 0);
        await assertNoDebris('alice');
      } finally {
        free();
      }
      assert.equal((await send(port(server, 'SMTP'), 'alice@localhost', 'smtp-during-full')).code, 250);
      assert.equal(await messagesContaining('alice', 'smtp-during-full'), 1);
    });

    it('LMTP answers the recipient 452 4.3.1, and the retry is stored once', async () => {
      fill();
      try {
        const reply = await send(port(server, 'LMTP'), 'alice@localhost', 'lmtp-during-full', true);
        assert.equal(reply.code, 452, reply.raw);
        assert.match(reply.text, /^4\.3\.1 /);
        await assertNoDebris('alice');
      } finally {
        free();
      }
      assert.equal((await send(port(server, 'LMTP'), 'alice@localhost', 'lmtp-during-full', true)).code, 250);
      assert.equal(await messagesContaining('alice', 'lmtp-during-full'), 1);
    });

    it('postel deliver exits 75 and says the disk is full; the retry is stored once', async () => {
      const input = join(work, 'deliver.eml');
      await writeFile(input, 'Subject: deliver-during-full\n\nbody\n');
      fill();
      try {
        const r = await runCli(['deliver', 'alice', input, '--config', config]);
        assert.equal(r.code, 75, describeRun(r));
        assert.match(r.stderr, /no space left on the file system/);
        assert.equal(await messagesContaining('alice', 'deliver-during-full'), 0);
        await assertNoDebris('alice');
      } finally {
        free();
      }
      const again = await runCli(['deliver', 'alice', input, '--config', config]);
      assert.equal(again.code, 0, describeRun(again));
      assert.equal(await messagesContaining('alice', 'deliver-during-full'), 1);
    });

    it('a user logs in and deletes mail on a full disk: QUIT answers +OK and the deletions stick', async () => {
      const smtp = port(server, 'SMTP');
      for (const n of [1, 2, 3]) assert.equal((await send(smtp, 'dora@localhost', `dora-${n}`)).code, 250);
      const first = await loginTo(server.port, 'dora', 'pw-dora');
      const uidl3 = (await first.command('UIDL 3')).split(' ')[2];
      assert.match(await first.command('QUIT'), /^\+OK/);
      // Arrives after the last login: its UID is not recorded yet.
      assert.equal((await send(smtp, 'dora@localhost', 'dora-4')).code, 250);
      fill();
      try {
        const c = await loginTo(server.port, 'dora', 'pw-dora');
        // The new message cannot be given a recorded UID now: it waits for free space.
        assert.match(await c.command('STAT'), /^\+OK 3 /);
        assert.equal(await c.command('DELE 1'), '+OK Message 1 deleted');
        assert.equal(await c.command('DELE 2'), '+OK Message 2 deleted');
        assert.match(await c.command('QUIT'), /^\+OK/);
        assert.equal(await messagesContaining('dora', 'dora-1'), 0);
        assert.equal(await messagesContaining('dora', 'dora-2'), 0);
      } finally {
        free();
      }
      const after = await loginTo(server.port, 'dora', 'pw-dora');
      assert.match(await after.command('STAT'), /^\+OK 2 /);
      assert.equal((await after.command('UIDL 1')).split(' ')[2], uidl3, 'the remaining message keeps its UIDL');
      assert.match(await after.command('QUIT'), /^\+OK/);
      assert.equal(await messagesContaining('dora', 'dora-3'), 1);
      assert.equal(await messagesContaining('dora', 'dora-4'), 1);
    });

    it('users-file writes exit 75 and leave the users file as it was, with no temp or lock file', async () => {
      const before = await readFile(join(data, 'users'), 'utf8');
      const names = await readdir(data);
      fill();
      try {
        const r = await runCli(['user', 'add', 'bob', '--password-stdin', '--config', config], 'pw-bob\n');
        assert.equal(r.code, 75, describeRun(r));
        assert.match(r.stderr, /no space left/);
        const p = await runCli(['user', 'passwd', 'alice', '--password-stdin', '--config', config], 'new\n');
        assert.equal(p.code, 75, describeRun(p));
        assert.equal(await readFile(join(data, 'users'), 'utf8'), before);
        assert.deepEqual((await readdir(data)).sort(), names.sort());
      } finally {
        free();
      }
      const r = await runCli(['user', 'add', 'bob', '--password-stdin', '--config', config], 'pw-bob\n');
      assert.equal(r.code, 0, describeRun(r));
    });

    it('postel fetch into a Maildir on the full disk fails temporarily (75), keeps the mail on the server, and fetches it once later', async () => {
      const smtp = port(server, 'SMTP');
      for (const n of [1, 2]) assert.equal((await send(smtp, 'fred@localhost', `fred-${n}`)).code, 250);
      // A login before the disk fills records the UIDs (a maildrop never opened shows nothing
      // while its index cannot be written).
      const seen = await loginTo(server.port, 'fred', 'pw-fred');
      assert.match(await seen.command('QUIT'), /^\+OK/);
      const dest = join(mount, 'fetched');
      const state = join(work, 'fetch-state');
      const args = ['fetch', '--server', `pop3://fred@127.0.0.1:${server.port}`, '--insecure-tls', '--password-env', 'PW', '--deliver', `maildir:${dest}`, '--data', state, '--delete'];
      const env = { ...process.env, PW: 'pw-fred' };
      await mkdir(join(dest, 'new'), { recursive: true });
      await mkdir(join(dest, 'tmp'), { recursive: true });
      await mkdir(join(dest, 'cur'), { recursive: true });
      fill();
      try {
        const r = await runCli(args, '', env);
        assert.equal(r.code, 75, describeRun(r));
        assert.deepEqual(await list(join(dest, 'new')), []);
        assert.deepEqual(await list(join(dest, 'tmp')), []);
      } finally {
        free();
      }
      const c = await loginTo(server.port, 'fred', 'pw-fred');
      assert.match(await c.command('STAT'), /^\+OK 2 /, 'nothing was deleted on the server');
      await c.command('QUIT');
      const again = await runCli(args, '', env);
      assert.equal(again.code, 0, describeRun(again));
      const fetched = await list(join(dest, 'new'));
      assert.equal(fetched.length, 2);
      const bodies = await Promise.all(fetched.map((n) => readFile(join(dest, 'new', n), 'utf8')));
      assert.equal(bodies.filter((b) => b.includes('fred-1')).length, 1);
      assert.equal(bodies.filter((b) => b.includes('fred-2')).length, 1);
    });
  });

  describe('a full file system under the log output', () => {
    let child: ReturnType<typeof spawn>;
    let stderr = '';
    const logDir = join(mount, 'logs');
    before(async () => {
      await mkdir(logDir, { recursive: true });
      const logFd = openSync(join(logDir, 'postel.log'), 'w');
      // The data directory is elsewhere: only the log is on the full file system.
      const dataElsewhere = join(work, 'log-data');
      const logConfig = join(work, 'log.toml');
      await writeFile(logConfig, `data_dir = ${JSON.stringify(dataElsewhere)}\n[auth]\nfailure_response_ms = 0\nmax_user_delay = 0\n`);
      await addUser(logConfig, 'alice', 'pw-alice');
      child = spawn(process.execPath, [POSTEL_BIN, 'serve', '--config', logConfig, '--pop3-port', '0', '--pop3s-port', '0', '--smtp-port', '0', '--lmtp-port', '0', '--submission-port', '0'], { stdio: ['ignore', logFd, 'pipe'] });
      closeSync(logFd);
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      for (let i = 0; i < 500 && !/SMTP on/.test(stderr); i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(stderr, /SMTP on/);
    });
    after(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });

    it('POP3 and SMTP sessions still answer, again and again, and the server stops cleanly', async () => {
      fill();
      try {
        const pop3Port = Number(/POP3 on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
        const smtpPort = Number(/SMTP on 127\.0\.0\.1:(\d+)/.exec(stderr)?.[1]);
        for (let round = 0; round < 3; round++) {
          // A failed login logs a warning, a delivery logs an error: each must not stall.
          const bad = await WireClient.connect(pop3Port);
          assert.match(await bad.line(), /^\+OK /);
          await bad.command('USER alice');
          assert.match(await bad.command('PASS wrong'), /^-ERR \[AUTH\]/);
          bad.close();
          const c = await loginTo(pop3Port, 'alice', 'pw-alice');
          assert.match(await c.command('STAT'), /^\+OK /);
          assert.match(await c.command('QUIT'), /^\+OK/);
          assert.equal((await send(smtpPort, 'alice@localhost', `logged-${round}`)).code, 250);
        }
        assert.match(stderr, /log output failing \(ENOSPC\)/);
        child.kill('SIGTERM');
        const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
        assert.equal(code, 0);
      } finally {
        free();
      }
    });
  });
}
