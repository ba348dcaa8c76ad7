import assert from 'node:assert/strict';
import { lstat, readFile, readlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseHolder } from '../src/fs/lock-file.js';
import { addUser, describeRun, deliverFiles, loginTo, runCliBounded, stopWithin, tryLogin } from './support/interop-cli.js';
import { hasProgram, run, runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { crlf, unstuff } from './support/wire-client.js';
import { exists, messageFiles } from './support/maildir-files.js';

describe('postel serve refuses an invalid configuration at start (exit 78, EX_CONFIG)', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  before(async () => {
    env = await tempDataDir();
  });
  after(() => env?.cleanup());

  const cases = [
    { name: 'a port of the wrong type', toml: '[pop3]\nport = "x"\n', stderr: /^ {2}pop3\.port: wanted a port number \(1-65535\), not a string$/m },
    { name: 'a port out of range', toml: '[pop3]\nport = 70000\n', stderr: /^ {2}pop3\.port: /m },
    { name: 'an unknown key in a table', toml: '[pop3]\nprot = 1\n', stderr: /^ {2}pop3\.prot: unknown key$/m },
    { name: 'an unknown top-level key', toml: 'dat_dir = "/tmp"\n', stderr: /^ {2}dat_dir: unknown key$/m },
    { name: 'an unknown log level', toml: '[log]\nlevel = "loud"\n', stderr: /^ {2}log\.level: /m },
    { name: 'invalid TOML', toml: '[pop3\nport = 1\n', stderr: /invalid TOML/ },
    { name: "a Dovecot UIDL format postel cannot reproduce (%m is Dovecot's mbox-only header MD5)", toml: '[pop3]\ndovecot_uidl_format = "%m"\n', stderr: /^ {2}pop3\.dovecot_uidl_format: .*mbox/m },
  ];
  for (const c of cases) {
    it(`rejects ${c.name}, naming the key`, async () => {
      const file = join(env.dir, `bad-${cases.indexOf(c)}.toml`);
      await writeFile(file, c.toml);
      // No --pop3-port here: it would override (and so hide) the port cases.
      const r = await runCliBounded(['serve', '--config', file]);
      assert.equal(r.code, 78, describeRun(r));
      assert.match(r.stderr, new RegExp(`^postel: (invalid )?${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.match(r.stderr, c.stderr);
      // It never got as far as listening or creating the data directory.
      assert.doesNotMatch(r.stderr, /POP3 on/);
      assert.equal(await exists(join(env.dir, 'data')), false);
    });
  }

  it('rejects a config file that cannot be read', async () => {
    const file = join(env.dir, 'missing.toml');
    const r = await runCliBounded(['serve', '--config', file]);
    assert.equal(r.code, 78, describeRun(r));
    assert.equal(r.stderr.split('\n')[0], `postel: cannot read config file ${file} (no such file); check -c/--config`);
  });

  it('the other commands check the config the same way', async () => {
    const file = join(env.dir, 'typo.toml');
    await writeFile(file, '[pop3]\nprot = 1\n');
    const r = await runCli(['user', 'list', '--config', file]);
    assert.equal(r.code, 78, describeRun(r));
    assert.match(r.stderr, /pop3\.prot: unknown key/);
  });

  it('an invalid --pop3-port flag is a usage error (exit 64)', async () => {
    const r = await runCliBounded(['serve', '--config', env.config, '--pop3-port', 'x']);
    assert.equal(r.code, 64, describeRun(r));
    assert.match(r.stderr, /--pop3-port <n>.*must be a port number/);
  });
});

describe('postel serve: flags override the file', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let blocker: Server;
  let blockedPort: number;
  before(async () => {
    // A port that is taken: if --pop3-port 0 did not override it, the server could not start.
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    blockedPort = (blocker.address() as { port: number }).port;
    // 192.0.2.1 (TEST-NET-1) is not an address of this host: binding to it fails.
    env = await tempDataDir(`port = ${blockedPort}\nhost = "192.0.2.1"\n`);
  });
  after(async () => {
    await new Promise((r) => blocker?.close(r));
    await env?.cleanup();
  });

  it('--pop3-port 0, --host 127.0.0.1 and --data DIR win over pop3.port, pop3.host and data_dir', async () => {
    const other = join(env.dir, 'other-data');
    await addUser(env.config, 'alice', 'pw', ['--data', other]);
    const server = await startServerProcess(['--config', env.config, '--host', '127.0.0.1', '--data', other]);
    try {
      assert.notEqual(server.port, blockedPort);
      assert.match(server.stderr(), new RegExp(`^postel: POP3 on 127\\.0\\.0\\.1:${server.port}, data in ${other}\\n`));
      assert.equal(await exists(join(other, 'mail')), true);
      assert.equal(await exists(join(env.dir, 'data')), false);
      const client = await loginTo(server.port, 'alice', 'pw');
      assert.equal(await client.command('STAT'), '+OK 0 0');
      client.close();
    } finally {
      await server.stop();
    }
  });
});

describe('postel serve --demo', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  before(async () => {
    env = await tempDataDir();
  });
  after(() => env?.cleanup());

  const data = (): string => join(env.dir, 'data');
  let firstPassword = '';

  it('on an empty data directory creates the demo user with one welcome message and prints the login and a curl line', async (t) => {
    const server = await startServerProcess(['--config', env.config, '--demo']);
    try {
      const stderr = server.stderr();
      const account = /^ {2}demo account: demo \/ (\S+) \(new, with one welcome message\)$/m.exec(stderr);
      assert.ok(account, stderr);
      firstPassword = account[1] as string;
      const curlLine = `  try: curl pop3://demo:${firstPassword}@127.0.0.1:${server.port}/1`;
      assert.ok(stderr.split('\n').includes(curlLine), stderr);

      assert.match(await readFile(join(data(), 'users'), 'utf8'), /^demo:\{SCRYPT\}\$scrypt\$/);
      assert.equal(await readFile(join(data(), 'demo-password'), 'utf8'), `${firstPassword}\n`);
      assert.equal((await messageFiles(join(data(), 'mail'), 'demo')).length, 1);

      const client = await loginTo(server.port, 'demo', firstPassword);
      assert.match(await client.command('STAT'), /^\+OK 1 \d+$/);
      const { body } = await client.multi('RETR 1');
      assert.match(unstuff(body).toString('utf8'), /\r\nSubject: Welcome to postel\r\n/);
      assert.match(await client.command('QUIT'), /^\+OK/);

      await t.test('the printed curl line fetches the welcome message', async (t2) => {
        if (!(await hasProgram('curl'))) {
          t2.skip('curl not installed: cannot run the printed line');
          return;
        }
        const args = curlLine.trim().split(' ').slice(2);
        const r = await run('curl', ['-s', ...args]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout.toString('utf8'), /^Return-Path: <postmaster@[^>]+>\r\n(.*\r\n)*Subject: Welcome to postel\r\n/);
      });
    } finally {
      assert.equal(await stopWithin(server, 'SIGTERM'), 0);
    }
  });

  it('a second start reuses the account: the same password, still one message', async () => {
    assert.notEqual(firstPassword, '', 'needs the first start');
    const server = await startServerProcess(['--config', env.config, '--demo']);
    try {
      const stderr = server.stderr();
      assert.ok(stderr.split('\n').includes(`  demo account: demo / ${firstPassword}`), stderr);
      assert.doesNotMatch(stderr, /\(new/);
      assert.equal((await readFile(join(data(), 'users'), 'utf8')).split('\n').filter(Boolean).length, 1);
      assert.equal((await messageFiles(join(data(), 'mail'), 'demo')).length, 1);
      const client = await loginTo(server.port, 'demo', firstPassword);
      assert.match(await client.command('STAT'), /^\+OK 1 \d+$/);
      client.close();
    } finally {
      assert.equal(await stopWithin(server, 'SIGTERM'), 0);
    }
  });
});

describe('postel serve: signals and two processes on one data directory', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  const message = 'Subject: precious\n\ndo not lose me\n';
  before(async () => {
    env = await tempDataDir();
    await addUser(env.config, 'alice', 'pw-alice');
    const file = join(env.dir, 'precious.eml');
    await writeFile(file, message);
    await deliverFiles(env.config, 'alice', [file]);
  });
  after(() => env?.cleanup());

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with an open session that did DELE: the client is told, the process exits 0, the message stays`, async () => {
      const server = await startServerProcess(['--config', env.config]);
      let code: number | null | 'timeout';
      const client = await loginTo(server.port, 'alice', 'pw-alice');
      try {
        assert.equal(await client.command('DELE 1'), '+OK Message 1 deleted');
        code = await stopWithin(server, signal);
      } finally {
        await server.stop('SIGKILL');
      }
      const rest = await client.rest();
      assert.ok(['-ERR [SYS/TEMP] Server shutting down\r\n', ''].includes(rest), JSON.stringify(rest));
      assert.equal(code, 0, server.stderr());
      assert.ok(server.logs().some((l) => l.event === 'shutdown' && l.signal === signal));
      assert.ok(server.logs().some((l) => l.event === 'session_end' && l.reason === 'shutdown' && l.dele === 1 && l.expunged === 0));

      // The message is still there, and the maildrop is not left locked.
      assert.equal((await messageFiles(join(env.dir, 'data', 'mail'), 'alice')).length, 1);
      const list = await runCli(['mailbox', 'list', 'alice', '--config', env.config]);
      assert.equal(list.code, 0, describeRun(list));
      assert.match(list.stdout, /^ +1 +\d+ {2}\S+ {2}precious\n$/);
    });
  }

  it('a second process sees the maildrop held by the first ([IN-USE]); after the first is SIGKILLed, its stale lock is taken over', async () => {
    const first = await startServerProcess(['--config', env.config]);
    let second: ServerProcess | undefined;
    try {
      second = await startServerProcess(['--config', env.config]);
      const holder = await loginTo(first.port, 'alice', 'pw-alice');
      assert.equal(await tryLogin(second.port, 'alice', 'pw-alice'), '-ERR [IN-USE] Maildrop is locked by another session');
      // The lock is a symlink whose target names its holder (it is never followed).
      const lock = parseHolder(await readlink(join(env.dir, 'data', 'mail', 'alice', 'postel.lock')));
      assert.equal(lock?.pid, first.pid);

      assert.equal(await first.stop('SIGKILL'), null);
      assert.equal(first.child.signalCode, 'SIGKILL');
      // The lock file is still there, naming a process that no longer exists.
      assert.ok((await lstat(join(env.dir, 'data', 'mail', 'alice', 'postel.lock'))).isSymbolicLink());
      holder.close();

      const client = await loginTo(second.port, 'alice', 'pw-alice');
      const { status, body } = await client.multi('RETR 1');
      assert.equal(status, `+OK ${crlf(message).length} octets`);
      assert.deepEqual(unstuff(body), crlf(message));
      assert.match(await client.command('QUIT'), /^\+OK/);
      assert.ok(
        second.logs().some((l) => l.msg === 'taking over stale lock' && String(l.lock).endsWith('alice/postel.lock') && (l.holder as { pid?: number } | undefined)?.pid === first.pid),
        second.stdout(),
      );
    } finally {
      await first.stop('SIGKILL');
      await second?.stop();
    }
  });
});
