import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stateFileName } from '../src/client/index.js';
import { startFakePop3, wireMessage } from './support/client-fake-pop3.js';
import { maildirContents } from './support/client-scenarios.js';
import { dovecotUnavailable, startDovecot } from './support/dovecot.js';
import { POSTEL_BIN, runCli, type CliResult } from './support/server-process.js';
import { startPop3TestServer, type TestServer } from './support/test-server.js';

/*
 * `postel fetch` as a user runs it: the one-account command line, a config file with
 * several accounts, the summary and plain progress lines (stderr is not a terminal here),
 * exit codes, the per-account lock, and the daemon's schedule after errors.
 */

const EX_USAGE = 64;
const EX_UNAVAILABLE = 69;
const EX_TEMPFAIL = 75;
const EX_CONFIG = 78;

const describeRun = (r: CliResult): string => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** Plain TCP only (no STLS). */
let server: TestServer;
/** With STLS and an implicit-TLS port, self-signed. */
let tlsServer: TestServer;
let work: string;
before(async () => {
  server = await startPop3TestServer({ users: { alice: 'alice-pw', bob: 'bob-pw', carol: 'alice-pw', dave: 'alice-pw', erin: 'alice-pw', frank: 'alice-pw', gina: 'alice-pw', hank: 'alice-pw' } });
  tlsServer = await startPop3TestServer({ users: { alice: 'alice-pw' }, tls: true });
  work = await mkdtemp(join(tmpdir(), 'postel-fetch-cli-'));
  await writeFile(join(work, 'server-cert.pem'), tlsServer.certPem as string);
  for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank']) for (const n of [1, 2]) await server.deliver(user, `Subject: ${user} ${n}\n\nhello ${n}\n`);
  for (const n of [1, 2]) await tlsServer.deliver('alice', `Subject: tls ${n}\n\nhello ${n}\n`);
});
after(async () => {
  await server?.stop();
  await tlsServer?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

let runs = 0;
const fetch = (args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> => runCli(['fetch', ...args], '', { ...process.env, PW: 'alice-pw', ...env });
const freshDir = async (): Promise<string> => {
  const dir = join(work, `run${++runs}`);
  await mkdir(dir, { recursive: true });
  return dir;
};

describe('one account on the command line', () => {
  test('pop3:// with --allow-plaintext: keep, then --delete; summary on stdout, plain lines on stderr', async () => {
    const dir = await freshDir();
    const base = ['--server', `pop3://alice@127.0.0.1:${server.port}`, '--allow-plaintext', '--password-env', 'PW', '--deliver', `maildir:${join(dir, 'Maildir')}`, '--data', join(dir, 'state')];
    const first = await fetch(base);
    assert.equal(first.code, 0, describeRun(first));
    const name = `alice@127.0.0.1:${server.port}`;
    assert.match(first.stderr, new RegExp(`^postel fetch: ${name}: 2 on the server, 2 to fetch \\(\\d+ octets\\)$`, 'm'));
    assert.doesNotMatch(first.stderr, /\x1b\[/, 'no terminal escapes when stderr is not a terminal');
    const lines = first.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^account\s+new\s+skipped\s+deleted\s+failed\s+status$/);
    assert.match(lines[1] ?? '', new RegExp(`^${name}\\s+2\\s+0\\s+0\\s+0\\s+ok$`));
    assert.equal((await maildirContents(join(dir, 'Maildir'))).length, 2);
    assert.ok((await readdir(join(dir, 'state', 'fetch'))).includes(`${stateFileName(name)}.state`), 'state file named after the account');

    const second = await fetch([...base, '--delete', '-v']);
    assert.equal(second.code, 0, describeRun(second));
    assert.match(second.stdout, new RegExp(`^${name}\\s+0\\s+0\\s+2\\s+0\\s+ok$`, 'm'));
    assert.match(second.stderr, /deleted 2 on the server/);
    assert.equal((await maildirContents(join(dir, 'Maildir'))).length, 2, 'nothing fetched twice');
  });

  test('pop3:// refuses a server without STLS unless --allow-plaintext', async () => {
    const dir = await freshDir();
    const r = await fetch(['--server', `pop3://alice@127.0.0.1:${server.port}`, '--password-env', 'PW', '--deliver', `maildir:${join(dir, 'M')}`, '--data', dir]);
    assert.equal(r.code, EX_UNAVAILABLE, describeRun(r));
    assert.match(r.stderr, /does not offer STLS; refusing to continue without encryption/);
    assert.match(r.stdout, /FAILED/);
    assert.equal((await maildirContents(join(dir, 'M'))).length, 0);
  });

  test('pop3:// upgrades with STLS when offered; pop3s:// checks the certificate (--ca-file, --insecure-tls)', async () => {
    const dir = await freshDir();
    const common = ['--password-env', 'PW', '--deliver', `mbox:${join(dir, 'mbox')}`, '--data', dir, '-v'];
    const stls = await fetch(['--server', `pop3://alice@127.0.0.1:${tlsServer.port}`, '--ca-file', join(work, 'server-cert.pem'), ...common]);
    assert.equal(stls.code, 0, describeRun(stls));
    assert.match(stls.stderr, /connected to .* \(TLS\)/);
    const untrusted = await fetch(['--server', `pop3s://alice@127.0.0.1:${tlsServer.tlsPort}`, '--all', ...common]);
    assert.equal(untrusted.code, EX_UNAVAILABLE, describeRun(untrusted));
    assert.match(untrusted.stderr, /TLS with 127\.0\.0\.1:\d+ failed: .*(self-signed|certificate)/);
    const trusted = await fetch(['--server', `pop3s://alice@127.0.0.1:${tlsServer.tlsPort}`, '--ca-file', join(work, 'server-cert.pem'), '--all', ...common]);
    assert.equal(trusted.code, 0, describeRun(trusted));
    const insecure = await fetch(['--server', `pop3s://alice@127.0.0.1:${tlsServer.tlsPort}`, '--insecure-tls', '--all', ...common]);
    assert.equal(insecure.code, 0, describeRun(insecure));
  });

  test('--password-command, and a failing one is reported without the secret', async () => {
    const dir = await freshDir();
    const base = ['--server', `pop3://alice@127.0.0.1:${server.port}`, '--allow-plaintext', '--deliver', `maildir:${join(dir, 'M')}`, '--data', dir];
    const ok = await fetch([...base, '--password-command', 'printf "alice-pw\\nignored\\n"']);
    assert.equal(ok.code, 0, describeRun(ok));
    const bad = await fetch([...base, '--password-command', 'echo oops >&2; exit 3']);
    assert.equal(bad.code, EX_UNAVAILABLE, describeRun(bad));
    assert.match(bad.stderr, /password command exited with 3: oops/);
  });

  test('--mark-seen: moving from another fetcher, what is on the server now is not downloaded again', async () => {
    const dir = await freshDir();
    const base = ['--server', `pop3://frank@127.0.0.1:${server.port}`, '--allow-plaintext', '--password-env', 'PW', '--deliver', `maildir:${join(dir, 'M')}`, '--data', dir];
    const marked = await fetch([...base, '--mark-seen']);
    assert.equal(marked.code, 0, describeRun(marked));
    assert.match(marked.stderr, /recorded 2 messages as delivered without downloading them/);
    assert.equal((await maildirContents(join(dir, 'M'))).length, 0);
    await server.deliver('frank', 'Subject: after the move\n\nnew\n');
    const next = await fetch(base);
    assert.equal(next.code, 0, describeRun(next));
    assert.deepEqual(await maildirContents(join(dir, 'M')), ['Subject: after the move\n\nnew\n']);
  });

  test('failed deliveries: exit 75 when the MDA says try later, 69 when it refuses for good', async () => {
    const dir = await freshDir();
    const base = ['--server', `pop3://gina@127.0.0.1:${server.port}`, '--allow-plaintext', '--password-env', 'PW', '--data', dir];
    const later = await fetch([...base, '--deliver', 'mda:cat >/dev/null; exit 75']);
    assert.equal(later.code, EX_TEMPFAIL, describeRun(later));
    assert.match(later.stdout, /^gina@\S+\s+0\s+0\s+0\s+2\s+FAILED$/m);
    const never = await fetch([...base, '--deliver', 'mda:exit 1']);
    assert.equal(never.code, EX_UNAVAILABLE, describeRun(never));
    assert.match(never.stderr, /not delivered \S+: MDA exit 1 exited with 1/);
  });

  for (const [why, args, pattern] of [
    ['no --deliver', ['--server', 'pop3s://a@h', '--password-env', 'PW'], /needs --deliver/],
    ['a password in the URL', ['--server', 'pop3s://a:pw@h', '--password-env', 'PW', '--deliver', 'maildir:/tmp/x'], /not in the server URL/],
    ['a bad URL', ['--server', 'imap://a@h', '--password-env', 'PW', '--deliver', 'maildir:/tmp/x'], /expected pop3s:\/\/USER@HOST/],
    ['a bad destination', ['--server', 'pop3s://a@h', '--password-env', 'PW', '--deliver', 'ftp:x'], /expected maildir:PATH, mbox:FILE/],
    ['lmtp without host:port', ['--server', 'pop3s://a@h', '--password-env', 'PW', '--deliver', 'lmtp:nohost'], /lmtp: needs HOST:PORT/],
    ['--keep with --delete', ['--server', 'pop3s://a@h', '--password-env', 'PW', '--deliver', 'maildir:/tmp/x', '--keep', '--delete'], /exclude each other/],
    ['no password source', ['--server', 'pop3s://a@h', '--deliver', 'maildir:/tmp/x'], /--password-env VAR or --password-command/],
  ] as const) {
    test(`usage error (exit 64): ${why}`, async () => {
      const r = await fetch([...args]);
      assert.equal(r.code, EX_USAGE, describeRun(r));
      assert.match(r.stderr, pattern);
    });
  }
});

describe('a configuration file with several accounts', () => {
  test('one account failing makes the exit code non-zero; the other is fetched; --account picks', async () => {
    const dir = await freshDir();
    const config = join(dir, 'fetch.toml');
    await writeFile(
      config,
      `state_dir = "state"
[[account]]
name = "good"
server = "pop3://bob@127.0.0.1:${server.port}"
allow_plaintext = true
password_env = "BOB_PW"
deliver = "maildir:good/Maildir"

[[account]]
name = "bad"
host = "127.0.0.1"
port = ${server.port}
tls = "none"
user = "alice"
password = "wrong"
deliver = "mbox:bad.mbox"
`,
    );
    const r = await fetch(['--config', config], { BOB_PW: 'bob-pw' });
    assert.equal(r.code, EX_UNAVAILABLE, describeRun(r));
    assert.match(r.stdout, /^good\s+2\s+0\s+0\s+0\s+ok$/m);
    assert.match(r.stdout, /^bad\s+0\s+0\s+0\s+0\s+FAILED$/m);
    assert.match(r.stdout, /^bad: PASS: -ERR \[AUTH\]/m);
    assert.equal((await maildirContents(join(dir, 'good', 'Maildir'))).length, 2, 'relative paths are taken from the config file');
    assert.ok((await readdir(join(dir, 'state', 'fetch'))).includes('good.state'));

    const only = await fetch(['--config', config, '--account', 'good'], { BOB_PW: 'bob-pw' });
    assert.equal(only.code, 0, describeRun(only));
    assert.doesNotMatch(only.stdout, /^bad/m);
  });

  test('invalid configuration: exit 78 naming the key', async () => {
    const dir = await freshDir();
    const config = join(dir, 'fetch.toml');
    await writeFile(config, '[[account]]\nserver = "pop3s://a@h"\npassword = "x"\ndeliver = "maildir:M"\nkepp = false\n');
    const r = await fetch(['--config', config]);
    assert.equal(r.code, EX_CONFIG, describeRun(r));
    assert.match(r.stderr, /account\[0\]\.kepp: unknown key/);
    const missing = await fetch(['--config', join(dir, 'nope.toml')]);
    assert.equal(missing.code, EX_CONFIG, describeRun(missing));
  });
});

describe('the account lock', () => {
  // Each test its own user (and so account): alice's mail was deleted above.
  const lockPath = (dir: string, user: string): string => join(dir, 'fetch', `${stateFileName(`${user}@127.0.0.1:${server.port}`)}.lock`);
  const args = (dir: string, user: string): string[] => ['--server', `pop3://${user}@127.0.0.1:${server.port}`, '--allow-plaintext', '--password-env', 'PW', '--deliver', `maildir:${join(dir, 'M')}`, '--data', dir];

  test('a fetch of an account that another live fetch holds is refused (exit 75)', async () => {
    const dir = await freshDir();
    await mkdir(join(dir, 'fetch'), { recursive: true });
    // This test process stands in for the other fetch: alive, on this host.
    await writeFile(lockPath(dir, 'carol'), `${JSON.stringify({ pid: process.pid, host: hostname() })}\n`);
    const r = await fetch(args(dir, 'carol'));
    assert.equal(r.code, EX_TEMPFAIL, describeRun(r));
    assert.match(r.stderr, new RegExp(`is being fetched by another process \\(pid ${process.pid} on `));
    assert.equal((await maildirContents(join(dir, 'M'))).length, 0);
  });

  test('a lock left by a process that died is taken over', async () => {
    const dir = await freshDir();
    await mkdir(join(dir, 'fetch'), { recursive: true });
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => resolve(child.pid as number));
    });
    await writeFile(lockPath(dir, 'dave'), `${JSON.stringify({ pid: dead, host: hostname() })}\n`);
    const r = await fetch(args(dir, 'dave'));
    assert.equal(r.code, 0, describeRun(r));
    assert.equal((await maildirContents(join(dir, 'M'))).length, 2);
  });

  test('two fetches started together: one runs, the other is refused or finds nothing new', async () => {
    const dir = await freshDir();
    const [a, b] = await Promise.all([fetch(args(dir, 'erin')), fetch(args(dir, 'erin'))]);
    const codes = [a.code, b.code].sort();
    assert.ok(codes[0] === 0 && (codes[1] === 0 || codes[1] === EX_TEMPFAIL), `${describeRun(a)}\n${describeRun(b)}`);
    assert.equal((await maildirContents(join(dir, 'M'))).length, 2, 'never both');
  });
});

describe('--daemon', () => {
  test('--metrics-listen: /metrics on loopback with messages per account and result, failed polls, the last success', async () => {
    const dir = await freshDir();
    const config = join(dir, 'fetch.toml');
    const account = (name: string, password: string): string =>
      `[[account]]\nname = "${name}"\nserver = "pop3://hank@127.0.0.1:${server.port}"\nallow_plaintext = true\npassword = "${password}"\ndeliver = "maildir:${name}"\n`;
    await writeFile(config, `interval = "1h"\nmetrics_listen = "127.0.0.1:0"\nstate_dir = "state"\n${account('good', 'alice-pw')}${account('bad', 'wrong')}`);
    const started = Date.now() / 1000;
    const child = spawn(process.execPath, [POSTEL_BIN, 'fetch', '--config', config, '--daemon'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const seen = new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (/^bad: /m.test(stdout) && /^good: /m.test(stdout) && /metrics on http/.test(stderr)) resolve();
      };
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        check();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        check();
      });
      child.once('exit', (code) => reject(new Error(`daemon exited with ${code}: ${stdout} ${stderr}`)));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await seen;
      const url = /metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(stderr)?.[1] as string;
      const res = await globalThis.fetch(url);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
      const text = await res.text();
      const value = (series: string): number | undefined => {
        const m = new RegExp(`^${series.replace(/[{}"=,]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
        return m ? Number(m[1]) : undefined;
      };
      assert.equal(value('postel_fetch_messages_total{account="good",result="delivered"}'), 2, text);
      assert.equal(value('postel_fetch_messages_total{account="good",result="failed"}'), 0);
      assert.equal(value('postel_fetch_messages_total{account="bad",result="delivered"}'), 0);
      assert.equal(value('postel_fetch_errors_total{account="bad"}'), 1);
      assert.equal(value('postel_fetch_errors_total{account="good"}'), 0);
      const last = value('postel_fetch_last_success_timestamp_seconds{account="good"}') ?? 0;
      assert.ok(last >= Math.floor(started) && last <= Date.now() / 1000 + 1, `last success ${last}`);
      assert.equal(value('postel_fetch_last_success_timestamp_seconds{account="bad"}'), undefined, 'no success for the failing account');
      assert.equal((await globalThis.fetch(url.replace('/metrics', '/other'))).status, 404);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
  });

  test('--metrics-listen goes with --daemon only, and on loopback only', async () => {
    const base = ['--server', `pop3://hank@127.0.0.1:${server.port}`, '--allow-plaintext', '--password-env', 'PW', '--deliver', 'maildir:/nonexistent/M'];
    const notDaemon = await fetch([...base, '--metrics-listen', '127.0.0.1:0']);
    assert.equal(notDaemon.code, EX_USAGE, describeRun(notDaemon));
    assert.match(notDaemon.stderr, /--metrics-listen goes with --daemon/);
    const outside = await fetch([...base, '--daemon', '--polls', '1', '--metrics-listen', '0.0.0.0:0']);
    assert.equal(outside.code, EX_USAGE, describeRun(outside));
    assert.match(outside.stderr, /loopback only/);
  });

  test('[IN-USE]: the poll fails and the next one backs off, doubling', async () => {
    const fake = await startFakePop3({ passAnswer: '-ERR [IN-USE] Mailbox in use', messages: [{ uid: 'a', content: wireMessage(['Subject: x', '', 'y']) }] });
    try {
      const dir = await freshDir();
      const r = await fetch(['--server', `pop3://alice@127.0.0.1:${fake.port}`, '--allow-plaintext', '--password-env', 'PW', '--deliver', `maildir:${join(dir, 'M')}`, '--data', dir, '--daemon', '--interval', '300ms', '--polls', '3'], { PW: 'secret' });
      assert.equal(r.code, EX_TEMPFAIL, describeRun(r));
      const polls = r.stdout.trimEnd().split('\n');
      assert.equal(polls.length, 3, r.stdout);
      assert.match(polls[0] ?? '', /FAILED.*next poll in \d+ s \(backing off after 1 failed poll\)/);
      assert.match(polls[1] ?? '', /backing off after 2 failed polls/);
      assert.match(r.stderr, /\[IN-USE\] Mailbox in use/);
      assert.equal(fake.connections, 3);
    } finally {
      await fake.stop();
    }
  });

  test('LOGIN-DELAY: after success the server minimum is respected; after [LOGIN-DELAY] too', async () => {
    const happy = await startFakePop3({ capa: ['USER', 'UIDL', 'RESP-CODES', 'LOGIN-DELAY 900'] });
    const refusing = await startFakePop3({ capa: ['USER', 'UIDL', 'RESP-CODES', 'LOGIN-DELAY 1200'], passAnswer: '-ERR [LOGIN-DELAY] too soon' });
    try {
      const dir = await freshDir();
      const daemon = (port: number): Promise<CliResult> =>
        fetch(['--server', `pop3://alice@127.0.0.1:${port}`, '--allow-plaintext', '--password-env', 'PW', '--deliver', `maildir:${join(dir, 'M')}`, '--data', join(dir, String(port)), '--daemon', '--interval', '60s', '--polls', '1'], { PW: 'secret' });
      const ok = await daemon(happy.port);
      assert.equal(ok.code, 0, describeRun(ok));
      assert.match(ok.stdout, /: ok, .*next poll in 900 s \(the server's LOGIN-DELAY is 900 s\)/);
      const refused = await daemon(refusing.port);
      assert.equal(refused.code, EX_TEMPFAIL, describeRun(refused));
      assert.match(refused.stdout, /FAILED.*next poll in 1200 s \(the server refused a login this soon \(\[LOGIN-DELAY\]\)\)/);
    } finally {
      await happy.stop();
      await refusing.stop();
    }
  });
});

const noDovecot = await dovecotUnavailable();
test('pop3s:// against Dovecot with --insecure-tls, into an MDA', { skip: noDovecot }, async () => {
  const dovecot = await startDovecot({ users: { carol: 'carol-pw' } });
  try {
    await dovecot.deliver('carol', 'Subject: from dovecot\n\nhi\n');
    const dir = await freshDir();
    const r = await fetch(['--server', `pop3s://carol@127.0.0.1:${dovecot.pop3sPort}`, '--insecure-tls', '--password-env', 'PW', '--deliver', `mda:cat > ${join(dir, 'out.eml')}`, '--data', dir, '--delete'], { PW: 'carol-pw' });
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /^carol@127\.0\.0\.1:\d+\s+1\s+0\s+1\s+0\s+ok$/m);
    assert.deepEqual(await dovecot.messageFiles('carol'), []);
  } finally {
    await dovecot.stop();
  }
});
