import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { verifyPassword } from './password-schemes.js';
import { InvalidUserNameError } from './user-name.js';
import { deriveScramKeys } from './sasl/scram-keys.js';
import { waitFor } from '../../test/support/wait-for.js';
import { scramKeysOf, UnknownUserError, UnstorablePasswordError, UserExistsError, UsersFile, UsersFileLockError } from './users-file.js';

const CHEAP = { cost: { ln: 4 } };
let root: string;
let counter = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'postel-users-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh directory per test, so lock and temp files of one test cannot affect another. */
async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(root, `t${counter++}-`));
  return join(dir, 'users');
}

test('a missing file is empty, and add creates it with mode 0600', async () => {
  const path = await freshPath();
  const users = new UsersFile(path);
  assert.equal(await users.lookup('alice'), undefined);
  assert.deepEqual(await users.list(), []);
  await users.add('alice', 'secret', CHEAP);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  // Neither the lock nor a temp file stays behind.
  assert.deepEqual(await readdir(join(path, '..')), ['users']);
  const entry = await users.lookup('alice');
  assert.ok(entry);
  assert.equal(entry.name, 'alice');
  assert.deepEqual(entry.extra, []);
  assert.equal(await verifyPassword(entry.password, 'secret'), true);
  assert.equal(await readFile(path, 'utf8'), `alice:${entry.password}\n`);
});

test('add, setPassword and remove round-trip through the file', async () => {
  const path = await freshPath();
  const users = new UsersFile(path);
  await users.add('alice', 'one', CHEAP);
  await users.add('Bob@Example.COM', 'tanstaaf', { scheme: 'PLAIN' });
  assert.deepEqual((await users.list()).map((u) => u.name), ['alice', 'Bob@example.com']);
  assert.equal((await users.lookup('Bob@EXAMPLE.com'))?.password, '{PLAIN}tanstaaf');
  await assert.rejects(users.add('alice', 'two', CHEAP), UserExistsError);
  await assert.rejects(users.add('Bob@example.com', 'two', CHEAP), UserExistsError);

  await users.setPassword('alice', 'two', CHEAP);
  const alice = await users.lookup('alice');
  assert.ok(alice);
  assert.equal(await verifyPassword(alice.password, 'two'), true);
  assert.equal(await verifyPassword(alice.password, 'one'), false);
  await users.setPassword('Bob@example.com', 'new', { scheme: 'PLAIN' });
  assert.equal((await users.lookup('Bob@example.com'))?.password, '{PLAIN}new');
  await assert.rejects(users.setPassword('carol', 'x', CHEAP), UnknownUserError);

  await users.remove('alice');
  assert.equal(await users.lookup('alice'), undefined);
  await assert.rejects(users.remove('alice'), UnknownUserError);
  assert.deepEqual((await users.list()).map((u) => u.name), ['Bob@example.com']);
  // A second instance (another process, in effect) sees the same.
  assert.deepEqual((await new UsersFile(path).list()).map((u) => u.name), ['Bob@example.com']);
});

test('comments, blank lines and unparseable lines survive rewrites in place', async () => {
  const path = await freshPath();
  const original = [
    '# users of example.org',
    '',
    'alice:{PLAIN}a',
    '   ',
    '# bob left',
    'bad/name:{PLAIN}x',
    ':{PLAIN}orphan',
    'carol:{PLAIN}c',
    '',
  ].join('\n');
  await writeFile(path, original);
  const users = new UsersFile(path);
  assert.deepEqual((await users.list()).map((u) => u.name), ['alice', 'carol']);
  await users.setPassword('alice', 'A', { scheme: 'PLAIN' });
  await users.add('dave', 'd', { scheme: 'PLAIN' });
  await users.remove('carol');
  assert.equal(
    await readFile(path, 'utf8'),
    ['# users of example.org', '', 'alice:{PLAIN}A', '   ', '# bob left', 'bad/name:{PLAIN}x', ':{PLAIN}orphan', 'dave:{PLAIN}d', ''].join('\n'),
  );
});

test('Dovecot lines keep their extra fields, name spelling and line ends', async () => {
  const path = await freshPath();
  const sha = '{SHA512-CRYPT}$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1';
  const lines = [
    `alice@EXAMPLE.org:${sha}:1000:1000:Alice A.:/home/alice:/bin/false:userdb_quota_rule=*:storage=1G allow_nets=10.0.0.0/8`,
    'bob:{PLAIN}b::::::\r',
    'carol:{PLAIN}c',
  ];
  await writeFile(path, lines.join('\n') + '\n');
  const users = new UsersFile(path);
  const alice = await users.lookup('alice@example.org');
  assert.ok(alice);
  assert.equal(alice.name, 'alice@example.org');
  assert.equal(alice.password, sha);
  assert.deepEqual(alice.extra, ['1000', '1000', 'Alice A.', '/home/alice', '/bin/false', 'userdb_quota_rule=*', 'storage=1G allow_nets=10.0.0.0/8']);
  assert.equal(await verifyPassword(alice.password, 'Hello world!'), true);
  assert.deepEqual((await users.lookup('bob'))?.extra, ['', '', '', '', '', '']);

  await users.setPassword('alice@example.org', 'x', { scheme: 'PLAIN' });
  await users.setPassword('bob', 'y', { scheme: 'PLAIN' });
  assert.equal(
    await readFile(path, 'utf8'),
    [
      'alice@EXAMPLE.org:{PLAIN}x:1000:1000:Alice A.:/home/alice:/bin/false:userdb_quota_rule=*:storage=1G allow_nets=10.0.0.0/8',
      'bob:{PLAIN}y::::::\r',
      'carol:{PLAIN}c',
      '',
    ].join('\n'),
  );
});

test('for a name listed twice the first line counts, and remove takes both', async () => {
  const path = await freshPath();
  await writeFile(path, 'alice:{PLAIN}first\nbob:{PLAIN}b\nAlice:{PLAIN}other-case\nalice:{PLAIN}second\n');
  const users = new UsersFile(path);
  assert.equal((await users.lookup('alice'))?.password, '{PLAIN}first');
  assert.deepEqual((await users.list()).map((u) => u.name), ['alice', 'bob', 'Alice']);
  await users.remove('alice');
  assert.equal(await users.lookup('alice'), undefined);
  assert.equal(await readFile(path, 'utf8'), 'bob:{PLAIN}b\nAlice:{PLAIN}other-case\n');
});

test('invalid names are refused by every method', async () => {
  const users = new UsersFile(await freshPath());
  for (const name of ['', '../etc', 'a/b', '.x', 'a:b', 'a b', 'a@b@c']) {
    await assert.rejects(users.lookup(name), InvalidUserNameError, name);
    await assert.rejects(users.add(name, 'x', CHEAP), InvalidUserNameError, name);
    await assert.rejects(users.setPassword(name, 'x', CHEAP), InvalidUserNameError, name);
    await assert.rejects(users.remove(name), InvalidUserNameError, name);
  }
});

test('a PLAIN password that would break the line format is refused', async () => {
  const path = await freshPath();
  const users = new UsersFile(path);
  for (const password of ['a:b', 'a\nb', 'a\rb', 'a\0b']) {
    await assert.rejects(users.add('alice', password, { scheme: 'PLAIN' }), UnstorablePasswordError);
  }
  await users.add('alice', 'a:b', CHEAP);
  assert.equal(await verifyPassword((await users.lookup('alice'))?.password ?? '', 'a:b'), true);
});

test('concurrent adds in one process all land in the file', async () => {
  const path = await freshPath();
  const users = new UsersFile(path);
  const names = Array.from({ length: 12 }, (_, i) => `user${i}`);
  await Promise.all(names.map((name) => users.add(name, `pw-${name}`, CHEAP)));
  assert.deepEqual((await users.list()).map((u) => u.name).sort(), [...names].sort());
  // Two instances over one file, as two parts of a program might hold.
  const other = new UsersFile(path);
  await Promise.all([users.add('x1', 'p', CHEAP), other.add('x2', 'p', CHEAP), users.add('x3', 'p', CHEAP), other.add('x4', 'p', CHEAP)]);
  assert.equal((await new UsersFile(path).list()).length, names.length + 4);
});

// Says "ready" once loaded, and starts adding when its stdin says go: both children start
// together, whatever their start-up took.
const CHILD = `
const [moduleUrl, path, prefix, count] = process.argv.slice(2);
const { UsersFile } = await import(moduleUrl);
const users = new UsersFile(path, { timeoutMs: 30000 });
process.stdout.write('ready\\n');
await new Promise((resolve) => process.stdin.once('data', resolve));
for (let i = 0; i < Number(count); i++) await users.add(prefix + i, 'pw', { cost: { ln: 4 } });
`;

interface Child {
  readonly ready: Promise<void>;
  go(): void;
  readonly done: Promise<void>;
}

function runChild(script: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`child exited with ${code}: ${stderr}`))));
  });
  const ready = Promise.race([new Promise<void>((resolve) => child.stdout.once('data', () => resolve())), done]);
  return { ready, go: () => child.stdin.end('go\n'), done };
}

test('concurrent adds from two processes all land in the file', async () => {
  const path = await freshPath();
  const script = join(root, `child-${counter++}.mjs`);
  await writeFile(script, CHILD);
  const moduleUrl = new URL('./users-file.js', import.meta.url).href;
  const users = new UsersFile(path);
  assert.deepEqual(await users.list(), []);
  const children = [runChild(script, [moduleUrl, path, 'a', '15']), runChild(script, [moduleUrl, path, 'b', '15'])];
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.go();
  await Promise.all([
    ...children.map((c) => c.done),
    (async () => {
      await users.add('parent', 'pw', CHEAP);
      // The second one goes in while the children are still writing.
      await waitFor(async () => (await users.list()).some((u) => u.name.startsWith('a') || u.name.startsWith('b')), "the children's first adds", 30_000);
      await users.add('parent2', 'pw', CHEAP);
    })(),
  ]);
  const names = (await users.list()).map((u) => u.name);
  assert.equal(names.length, 32, names.join(' '));
  for (let i = 0; i < 15; i++) {
    assert.ok(names.includes(`a${i}`) && names.includes(`b${i}`), `a${i} and b${i}`);
  }
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.deepEqual(await readdir(join(path, '..')), ['users']);
});

test('changes made by others are seen at the next lookup', async () => {
  const path = await freshPath();
  const users = new UsersFile(path);
  await writeFile(path, 'alice:{PLAIN}aaaa\n');
  assert.equal((await users.lookup('alice'))?.password, '{PLAIN}aaaa');

  // Same size, same inode, written at once: only the racy-snapshot rule catches this.
  await writeFile(path, 'alice:{PLAIN}bbbb\n');
  assert.equal((await users.lookup('alice'))?.password, '{PLAIN}bbbb');

  // Same size and inode, timestamps set back (as `cp -p` or `touch -d` do).
  await writeFile(path, 'alice:{PLAIN}cccc\n');
  const past = new Date(Date.now() - 60_000);
  await utimes(path, past, past);
  assert.equal((await users.lookup('alice'))?.password, '{PLAIN}cccc');
  assert.equal((await users.lookup('alice'))?.password, '{PLAIN}cccc');
  await writeFile(path, 'alice:{PLAIN}dddd\n');
  const lessPast = new Date(Date.now() - 50_000);
  await utimes(path, lessPast, lessPast);
  assert.equal((await users.lookup('alice'))?.password, '{PLAIN}dddd');

  // Replaced by rename, as another postel process does it.
  await writeFile(`${path}.new`, 'alice:{PLAIN}eeee\nbob:{PLAIN}b\n');
  await rename(`${path}.new`, path);
  assert.equal((await users.lookup('alice'))?.password, '{PLAIN}eeee');
  assert.equal((await users.lookup('bob'))?.password, '{PLAIN}b');

  await new UsersFile(path).setPassword('bob', 'B', { scheme: 'PLAIN' });
  assert.equal((await users.lookup('bob'))?.password, '{PLAIN}B');

  await unlink(path);
  assert.equal(await users.lookup('alice'), undefined);
});

test('a rewrite makes the file 0600 even if it was readable by others', async () => {
  const path = await freshPath();
  await writeFile(path, 'alice:{PLAIN}a\n');
  await chmod(path, 0o644);
  await new UsersFile(path).add('bob', 'b', CHEAP);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
});

test('a lock held by a live writer makes writers wait, then give up', async () => {
  const path = await freshPath();
  const lockPath = `${path}.lock`;
  await writeFile(lockPath, 'someone else\n');
  const users = new UsersFile(path, { timeoutMs: 300 });
  assert.equal(users.lockPath, lockPath);
  const started = Date.now();
  await assert.rejects(users.add('alice', 'x', CHEAP), UsersFileLockError);
  assert.ok(Date.now() - started >= 250, 'retried until the timeout');
  assert.equal(await readFile(lockPath, 'utf8'), 'someone else\n', 'a foreign lock is left alone');

  // Released while we wait: the write goes through.
  const waiting = new UsersFile(path, { timeoutMs: 5000 }).add('bob', 'x', CHEAP);
  setTimeout(() => void unlink(lockPath), 200);
  await waiting;
  assert.ok(await users.lookup('bob'));
});

test('a lock older than the stale limit is taken over', async () => {
  const path = await freshPath();
  const lockPath = `${path}.lock`;
  await writeFile(lockPath, 'crashed process\n');
  const old = new Date(Date.now() - 31_000);
  await utimes(lockPath, old, old);
  const users = new UsersFile(path, { timeoutMs: 1000 });
  await users.add('alice', 'x', CHEAP);
  assert.ok(await users.lookup('alice'));
  await assert.rejects(stat(lockPath), { code: 'ENOENT' });
});

const SCRAM_CHEAP = { cost: { ln: 4 }, scram: { iterations: 4096 } };
const SCRAM_FIELD = /^scram-sha-256=4096,[A-Za-z0-9+/]{22}==,[A-Za-z0-9+/]{43}=,[A-Za-z0-9+/]{43}=$/;

/** Whether stored keys are those of `password`. */
async function scramMatches(users: UsersFile, name: string, password: string): Promise<boolean> {
  const entry = await users.lookup(name);
  const keys = entry && scramKeysOf(entry);
  if (keys === undefined) return false;
  return (await deriveScramKeys(password, keys.salt, keys.iterations)).storedKey.equals(keys.storedKey);
}

test('with scram, add stores SCRAM-SHA-256 keys in an extra field next to the scrypt hash', async () => {
  const path = await freshPath();
  const users = new UsersFile(path);
  await users.add('alice', 'secret', SCRAM_CHEAP);
  const entry = await users.lookup('alice');
  assert.ok(entry);
  assert.equal(entry.extra.length, 6);
  assert.deepEqual(entry.extra.slice(0, 5), ['', '', '', '', '']);
  assert.match(entry.extra[5] ?? '', SCRAM_FIELD);
  assert.equal(await verifyPassword(entry.password, 'secret'), true);
  assert.equal(await readFile(path, 'utf8'), `alice:${entry.password}::::::${entry.extra[5]}\n`);
  assert.ok(!(await readFile(path, 'utf8')).includes('secret'), 'no plaintext');
  assert.equal(await scramMatches(users, 'alice', 'secret'), true);
  assert.equal(await scramMatches(users, 'alice', 'Secret'), false);
  // The default iteration count applies when none is given.
  await users.add('bob', 'pw', { cost: { ln: 4 }, scram: {} });
  const bob = await users.lookup('bob');
  assert.equal(bob && scramKeysOf(bob)?.iterations, 100_000);
});

test('setPassword replaces SCRAM keys, and removes them when none are asked for', async () => {
  const path = await freshPath();
  await writeFile(path, 'carol:{PLAIN}old:1000:1000::/home/carol::userdb_quota_rule=*:storage=1G allow_nets=10.0.0.0/8\n');
  const users = new UsersFile(path);
  await users.setPassword('carol', 'first', SCRAM_CHEAP);
  let carol = await users.lookup('carol');
  assert.ok(carol);
  assert.deepEqual(carol.extra.slice(0, 5), ['1000', '1000', '', '/home/carol', '']);
  const fields = carol.extra.slice(5).join(':').split(' ');
  assert.deepEqual(fields.slice(0, 2), ['userdb_quota_rule=*:storage=1G', 'allow_nets=10.0.0.0/8'], 'other extra fields are kept');
  assert.match(fields[2] ?? '', SCRAM_FIELD);
  assert.equal(await scramMatches(users, 'carol', 'first'), true);

  await users.setPassword('carol', 'second', SCRAM_CHEAP);
  assert.equal(await scramMatches(users, 'carol', 'second'), true);
  assert.equal((await readFile(path, 'utf8')).match(/scram-sha-256=/g)?.length, 1, 'replaced, not added');

  // A new password without SCRAM keys must not leave the old password working through SCRAM.
  await users.setPassword('carol', 'third', { scheme: 'PLAIN' });
  carol = await users.lookup('carol');
  assert.ok(carol);
  assert.equal(scramKeysOf(carol), undefined);
  assert.equal(await readFile(path, 'utf8'), 'carol:{PLAIN}third:1000:1000::/home/carol::userdb_quota_rule=*:storage=1G allow_nets=10.0.0.0/8\n');

  // Keys added to a bare line and taken away again leave it as it was.
  await users.add('dave', 'd', { scheme: 'PLAIN', scram: { iterations: 4096 } });
  await users.setPassword('dave', 'e', { scheme: 'PLAIN' });
  assert.ok((await readFile(path, 'utf8')).endsWith('\ndave:{PLAIN}e\n'));
});

test('SCRAM keys are read from a Dovecot {SCRAM-SHA-256} password too', async () => {
  const path = await freshPath();
  // RFC 7677's example user ("pencil"), keys computed with Python's hashlib.
  const dovecot = '{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=';
  await writeFile(path, `user:${dovecot}\nbroken::::::: scram-sha-256=4096,nonsense\n`);
  const users = new UsersFile(path);
  assert.equal(await scramMatches(users, 'user', 'pencil'), true);
  const broken = await users.lookup('broken');
  assert.ok(broken);
  assert.equal(scramKeysOf(broken), undefined, 'malformed keys are ignored');
});
