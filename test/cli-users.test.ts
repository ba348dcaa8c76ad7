import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addUser, describeRun, loginTo, tryLogin } from './support/interop-cli.js';
import { runCli, startServerProcess, tempDataDir, type ServerProcess } from './support/server-process.js';
import { WireClient } from './support/wire-client.js';
import { exists } from './support/maildir-files.js';

/** A scrypt hash as `postel user add` writes it: passlib's layout, default cost. */
const B64 = '[A-Za-z0-9+/]+={0,2}';
/** name:{SCRYPT}hash, then SCRAM-SHA-256 keys in a Dovecot extra field (SCRAM is enabled by default). */
const SCRYPT_LINE = new RegExp(`^([^:\\n]+):\\{SCRYPT\\}\\$scrypt\\$ln=15,r=8,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}::::::scram-sha-256=100000,${B64},${B64},${B64}$`);

describe('postel user, against a running server that shares the data directory', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let server: ServerProcess;
  before(async () => {
    env = await tempDataDir();
    server = await startServerProcess(['--config', env.config]);
  });
  after(async () => {
    await server?.stop();
    await env?.cleanup();
  });

  it('user add --password-stdin creates a user who can log in at once over POP3', async () => {
    const r = await addUser(env.config, 'alice', 'first secret');
    assert.equal(r.stdout, 'added alice\n');
    const client = await loginTo(server.port, 'alice', 'first secret');
    assert.equal(await client.command('STAT'), '+OK 0 0');
    assert.match(await client.command('QUIT'), /^\+OK/);
    assert.equal(await tryLogin(server.port, 'alice', 'first secre'), '-ERR [AUTH] Authentication failed');
  });

  it('user quota sets and clears the quota the SMTP side enforces; a bad size is a usage error', async () => {
    await addUser(env.config, 'quinn', 'pw');
    const set = await runCli(['user', 'quota', 'quinn', '2M', '--config', env.config]);
    assert.equal(set.code, 0, describeRun(set));
    assert.equal(set.stdout, 'quota of quinn: 2097152 bytes\n');
    assert.match(await readFile(join(env.dir, 'data', 'users'), 'utf8'), /^quinn:.*quota=2097152$/m);
    const none = await runCli(['user', 'quota', 'quinn', 'none', '--config', env.config]);
    assert.equal(none.stdout, 'no quota for quinn\n');
    assert.doesNotMatch(await readFile(join(env.dir, 'data', 'users'), 'utf8'), /^quinn:.*quota=/m);
    assert.equal((await runCli(['user', 'quota', 'quinn', 'lots', '--config', env.config])).code, 64);
    assert.equal((await runCli(['user', 'quota', 'nobody', '1M', '--config', env.config])).code, 67);
  });

  it('user passwd changes the password for the running server: the old one fails, the new one works', async () => {
    await addUser(env.config, 'bob', 'old-password');
    (await loginTo(server.port, 'bob', 'old-password')).close();
    const r = await runCli(['user', 'passwd', 'bob', '--password-stdin', '--config', env.config], 'new-password\n');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'password of bob changed\n');
    assert.equal(await tryLogin(server.port, 'bob', 'old-password'), '-ERR [AUTH] Authentication failed');
    const client = await loginTo(server.port, 'bob', 'new-password');
    assert.match(await client.command('QUIT'), /^\+OK/);
  });

  it('user del removes the user: the running server then refuses the login', async () => {
    await addUser(env.config, 'carol', 'pw-carol');
    (await loginTo(server.port, 'carol', 'pw-carol')).close();
    const r = await runCli(['user', 'del', 'carol', '--config', env.config]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'removed carol\n');
    assert.equal(await tryLogin(server.port, 'carol', 'pw-carol'), '-ERR [AUTH] Authentication failed');
    const list = await runCli(['user', 'list', '--config', env.config]);
    assert.ok(!list.stdout.split('\n').includes('carol'), list.stdout);
  });

  it('--scheme PLAIN stores {PLAIN}password, and that user can log in', async () => {
    await addUser(env.config, 'dave', 'plain-pw', ['--scheme', 'PLAIN']);
    const lines = (await readFile(join(env.dir, 'data', 'users'), 'utf8')).split('\n');
    assert.ok(lines.some((l) => l.startsWith('dave:{PLAIN}plain-pw:')), lines.join('\n'));
    (await loginTo(server.port, 'dave', 'plain-pw')).close();
  });

  it('user add josé stores the SASLprep form and says USER needs UTF8 first; the server agrees', async () => {
    const r = await addUser(env.config, 'jose\u0301', 'pw');
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'added jos\u00e9\nnote: POP3 clients must send UTF8 before USER with this name (or log in with SASL)\n');
    assert.match(await readFile(join(env.dir, 'data', 'users'), 'utf8'), /^jos\u00e9:\{SCRYPT\}/m);
    const again = await runCli(['user', 'add', 'jos\u00e9', '--password-stdin', '--config', env.config], 'pw\n');
    assert.equal(again.code, 65, 'the composed form is the same user');
    const client = await WireClient.connect(server.port);
    try {
      await client.line();
      assert.equal(await client.command('USER jos\u00e9'), '-ERR User names with non-ASCII characters need the UTF8 command first');
      assert.equal(await client.command('UTF8'), '+OK UTF8 enabled');
      assert.match(await client.command('USER jose\u0301'), /^\+OK/);
      assert.match(await client.command('PASS pw'), /^\+OK jos.*'s maildrop has 0 messages/);
    } finally {
      client.close();
    }
    const bad = await runCli(['user', 'add', '\u00e9\uff0fetc', '--password-stdin', '--config', env.config], 'pw\n');
    assert.equal(bad.code, 65, 'a name SASLprep maps to a path separator is refused');
  });
});

describe('postel user, on its own', () => {
  let env: Awaited<ReturnType<typeof tempDataDir>>;
  let usersFile: string;
  before(async () => {
    env = await tempDataDir();
    usersFile = join(env.dir, 'data', 'users');
  });
  after(() => env?.cleanup());

  it('the first user add creates the data directory and a Dovecot passwd-file (name:{SCRYPT}...) of mode 0600', async () => {
    assert.equal(await exists(join(env.dir, 'data')), false);
    await addUser(env.config, 'erin', 'pw1');
    await addUser(env.config, 'frank@Example.ORG', 'pw2');
    const text = await readFile(usersFile, 'utf8');
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n');
    assert.equal(lines.length, 2);
    // The domain of an address is lowercased, the local part kept.
    assert.deepEqual(
      lines.map((l) => SCRYPT_LINE.exec(l)?.[1]),
      ['erin', 'frank@example.org'],
      text,
    );
    assert.equal((await stat(usersFile)).mode & 0o777, 0o600);
  });

  it('--no-scram stores the scrypt hash alone', async () => {
    await addUser(env.config, 'nokeys', 'pw0', ['--no-scram']);
    const lines = (await readFile(usersFile, 'utf8')).split('\n');
    const line = lines.find((l) => l.startsWith('nokeys:')) ?? '';
    assert.match(line, /^nokeys:\{SCRYPT\}\$scrypt\$[^:]+$/);
    assert.equal((await runCli(['user', 'del', 'nokeys', '--config', env.config])).code, 0);
  });

  it('alias list prints the aliases file in its own format; alias set without a PostgreSQL store says to edit the file (64)', async () => {
    await writeFile(join(env.dir, 'data', 'aliases'), '# team\ninfo@Example.org  alice,\n   bob\n@example.org alice\n');
    const listed = await runCli(['alias', 'list', '--config', env.config]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(listed.stdout, '@example.org alice\ninfo@example.org alice, bob\n');
    const refused = await runCli(['alias', 'set', 'x@example.org', 'alice', '--config', env.config]);
    assert.equal(refused.code, 64);
    assert.match(refused.stderr, /aliases are the file .*aliases: edit it/);
  });

  it('user list prints the names, one a line, in file order', async () => {
    await addUser(env.config, 'gina', 'pw3');
    const r = await runCli(['user', 'list', '--config', env.config]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(r.stdout, 'erin\nfrank@example.org\ngina\n');
  });

  it('adding an existing user fails with exit 65, says so, and leaves the users file alone', async () => {
    const before = await readFile(usersFile, 'utf8');
    const r = await runCli(['user', 'add', 'erin', '--password-stdin', '--config', env.config], 'other\n');
    assert.equal(r.code, 65, describeRun(r));
    assert.equal(r.stderr, 'postel: user erin already exists\n');
    assert.equal(r.stdout, '');
    assert.equal(await readFile(usersFile, 'utf8'), before);
  });

  for (const [name, why] of [
    ['../x', 'contains a path separator'],
    ['a/b', 'contains a path separator'],
    ['a:b', "contains ':'"],
    ['', 'empty'],
    ['.hidden', "starts with '.'"],
    ['a b', 'contains whitespace'],
  ] as const) {
    it(`refuses the user name ${JSON.stringify(name)} (${why}) with exit 65 and writes nothing`, async () => {
      const before = await readFile(usersFile, 'utf8');
      const r = await runCli(['user', 'add', name, '--password-stdin', '--config', env.config], 'pw\n');
      assert.equal(r.code, 65, describeRun(r));
      assert.equal(r.stderr, `postel: invalid user name: ${why}\n`);
      assert.equal(await readFile(usersFile, 'utf8'), before);
      // A maildrop directory for '../x' would land in DATA/x.
      assert.equal(await exists(join(env.dir, 'data', 'x')), false);
    });
  }

  it('without --password-stdin and with stdin not a terminal, user add is a usage error (exit 64)', async () => {
    const r = await runCli(['user', 'add', 'hank', '--config', env.config], 'pw\n');
    assert.equal(r.code, 64, describeRun(r));
    assert.match(r.stderr, /not a terminal: use --password-stdin/);
    const list = await runCli(['user', 'list', '--config', env.config]);
    assert.ok(!list.stdout.includes('hank'), list.stdout);
  });

  it('--password-stdin with nothing on stdin is a usage error (exit 64)', async () => {
    const r = await runCli(['user', 'add', 'ivan', '--password-stdin', '--config', env.config], '');
    assert.equal(r.code, 64, describeRun(r));
    assert.equal(r.stderr, 'postel: no password on standard input\n');
  });

  it('passwd and del of an unknown user exit 67 (EX_NOUSER)', async () => {
    const passwd = await runCli(['user', 'passwd', 'nobody', '--password-stdin', '--config', env.config], 'pw\n');
    assert.equal(passwd.code, 67, describeRun(passwd));
    assert.equal(passwd.stderr, 'postel: no such user: nobody\n');
    const del = await runCli(['user', 'del', 'nobody', '--config', env.config]);
    assert.equal(del.code, 67, describeRun(del));
    assert.equal(del.stderr, 'postel: no such user: nobody\n');
  });

  it('an unknown --scheme is a usage error (exit 64), refused before anything is written', async () => {
    const before = await readFile(usersFile, 'utf8');
    const r = await runCli(['user', 'add', 'judy', '--password-stdin', '--scheme', 'MD5', '--config', env.config], 'pw\n');
    assert.equal(r.code, 64, describeRun(r));
    assert.match(r.stderr, /unknown scheme MD5: use SCRYPT or PLAIN/);
    assert.equal(await readFile(usersFile, 'utf8'), before);
  });

  it('a PLAIN password that the passwd-file cannot hold (a colon) is refused with exit 65, not a crash', async () => {
    const before = await readFile(usersFile, 'utf8');
    const r = await runCli(['user', 'add', 'kim', '--password-stdin', '--scheme', 'PLAIN', '--config', env.config], 'a:b\n');
    assert.equal(r.code, 65, describeRun(r));
    assert.equal(r.stderr, "postel: the password of kim cannot be stored in this scheme (contains ':' or a control character)\n");
    assert.equal(await readFile(usersFile, 'utf8'), before);
  });
});
