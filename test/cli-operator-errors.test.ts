import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeRun, runCliBounded } from './support/interop-cli.js';
import { runCli, tempDataDir } from './support/server-process.js';

const quietPorts = ['--pop3-port', '0', '--pop3s-port', '0', '--smtp-port', '0', '--lmtp-port', '0', '--submission-port', '0'];

/** One line on stderr, no stack trace, no "internal error". */
function oneLine(stderr: string): string {
  assert.doesNotMatch(stderr, /internal error|\n\s+at /, stderr);
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0] as string;
}

describe('operator mistakes get one line naming the thing and the fix, with a sysexits code', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let busy: Server;
  let busyPort: number;
  before(async () => {
    env = await tempDataDir();
    busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(async () => {
    busy.close();
    await env.cleanup();
  });

  it('a port in use exits 69 and names the listener (POP3S labelled as such)', async () => {
    const r = await runCliBounded(['serve', '--config', env.config, ...quietPorts, '--pop3s-port', String(busyPort)]);
    assert.equal(r.code, 69, describeRun(r));
    assert.equal(oneLine(r.stderr), `postel: POP3S port 127.0.0.1:${busyPort} is already in use (another postel or mail server?); stop it or choose another port`);
    const smtp = await runCliBounded(['serve', '--config', env.config, ...quietPorts, '--smtp-port', String(busyPort)]);
    assert.equal(smtp.code, 69, describeRun(smtp));
    assert.match(oneLine(smtp.stderr), new RegExp(`^postel: SMTP port 127\\.0\\.0\\.1:${busyPort} is already in use`));
  });

  it('a data directory that is a file exits 78 for serve and user add, naming it', async () => {
    const file = join(env.dir, 'a-file');
    await writeFile(file, 'x');
    const serve = await runCliBounded(['serve', '--data', file, ...quietPorts]);
    assert.equal(serve.code, 78, describeRun(serve));
    assert.equal(oneLine(serve.stderr), `postel: data directory ${file} is not a directory; check --data or data_dir`);
    const add = await runCli(['user', 'add', 'x', '--password-stdin', '--data', file], 'pw\n');
    assert.equal(add.code, 78, describeRun(add));
    assert.equal(oneLine(add.stderr), `postel: data directory ${file} is not a directory; check --data or data_dir`);
  });

  it('user list on a data directory that does not exist is an error (78), not an empty list', async () => {
    const missing = join(env.dir, 'nonexistent');
    const r = await runCli(['user', 'list', '--data', missing]);
    assert.equal(r.code, 78, describeRun(r));
    assert.equal(r.stdout, '');
    assert.match(oneLine(r.stderr), new RegExp(`^postel: data directory ${missing} does not exist`));
  });

  it('a relative data_dir in a config file is relative to that file; --data to the working directory', async () => {
    const sub = join(env.dir, 'conf');
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, 'postel.toml'), 'data_dir = "here"\n');
    const added = await runCli(['user', 'add', 'rel', '--password-stdin', '--config', join(sub, 'postel.toml')], 'pw\n');
    assert.equal(added.code, 0, describeRun(added));
    const listed = await runCli(['user', 'list', '--data', join(sub, 'here')]);
    assert.equal(listed.stdout, 'rel\n');
  });

  it('user add refuses a name SASLprep refuses (RFC 6856 user names) with 65 and says why', async () => {
    const r = await runCli(['user', 'add', 'jos\u00e9\u200e', '--password-stdin', '--config', env.config], 'pw\n');
    assert.equal(r.code, 65, describeRun(r));
    assert.match(oneLine(r.stderr), /invalid user name: .*[Pp]rohibited/);
    const list = await runCli(['user', 'list', '--config', env.config]);
    assert.doesNotMatch(list.stdout, /jos/);
  });

  it('a certificate that cannot be read exits 78 and names the file', async () => {
    const config = join(env.dir, 'tls.toml');
    await writeFile(config, `data_dir = ${JSON.stringify(join(env.dir, 'data'))}\n[tls]\ncert = "/nonexistent/cert.pem"\nkey = "/nonexistent/key.pem"\n`);
    const r = await runCliBounded(['serve', '--config', config, ...quietPorts]);
    assert.equal(r.code, 78, describeRun(r));
    assert.match(oneLine(r.stderr), /\/nonexistent\/cert\.pem/);
  });

  it('a data directory without permission exits 77', async (t) => {
    if (process.getuid?.() === 0) {
      t.skip('running as root, which file permissions do not stop');
      return;
    }
    const locked = join(env.dir, 'locked');
    await mkdir(locked, { mode: 0o500 });
    await chmod(locked, 0o500);
    const r = await runCli(['user', 'add', 'x', '--password-stdin', '--data', locked], 'pw\n');
    assert.equal(r.code, 77, describeRun(r));
    assert.match(oneLine(r.stderr), /permission denied/);
  });
});
