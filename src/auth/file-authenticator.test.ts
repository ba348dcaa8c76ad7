import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createLogger } from '../log/logger.js';
import { DUMMY_HASH, FileAuthenticator } from './file-authenticator.js';
import { DEFAULT_SCRYPT_COST, scryptCostOf } from './scrypt-hash.js';
import type { AuthContext } from './types.js';
import { UsersFile } from './users-file.js';

const ctx: AuthContext = { remoteAddress: '192.0.2.1', secure: true };
const SHA512 = '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1';
let dir: string;
let users: UsersFile;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postel-auth-'));
  users = new UsersFile(join(dir, 'users'));
  await writeFile(
    join(dir, 'users'),
    [
      'apop:{PLAIN}tanstaaf',
      `crypt:{SHA512-CRYPT}${SHA512}`,
      `bare:${SHA512}`,
      'old:{SSHA}9DYDOCnxBykYlYFS1Ys1Wf1l0ik3zW5c',
      'Mixed@example.org:{CLEARTEXT}secret',
      '',
    ].join('\n'),
  );
  // Stored with the default cost, as `postel user add` does, so the timing test is fair.
  await users.add('scrypt', 'correct horse');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the dummy hash costs what a new password costs', () => {
  assert.ok(DUMMY_HASH.startsWith('{SCRYPT}'));
  assert.deepEqual(scryptCostOf(DUMMY_HASH.slice('{SCRYPT}'.length)), DEFAULT_SCRYPT_COST);
});

test('USER/PASS: each outcome', async () => {
  const auth = new FileAuthenticator(users);
  assert.deepEqual(await auth.verify('scrypt', 'correct horse', ctx), { ok: true, user: 'scrypt' });
  assert.deepEqual(await auth.verify('scrypt', 'wrong', ctx), { ok: false, reason: 'bad-password' });
  assert.deepEqual(await auth.verify('apop', 'tanstaaf', ctx), { ok: true, user: 'apop' });
  assert.deepEqual(await auth.verify('crypt', 'Hello world!', ctx), { ok: true, user: 'crypt' });
  assert.deepEqual(await auth.verify('bare', 'Hello world!', ctx), { ok: true, user: 'bare' });
  assert.deepEqual(await auth.verify('crypt', 'hello world!', ctx), { ok: false, reason: 'bad-password' });
  assert.deepEqual(await auth.verify('nobody', 'x', ctx), { ok: false, reason: 'unknown-user' });
  assert.deepEqual(await auth.verify('../etc', 'x', ctx), { ok: false, reason: 'invalid-name' });
  assert.deepEqual(await auth.verify('', 'x', ctx), { ok: false, reason: 'invalid-name' });
});

test('the canonical name is returned, whatever case the client gave the domain', async () => {
  const auth = new FileAuthenticator(users);
  assert.deepEqual(await auth.verify('Mixed@EXAMPLE.ORG', 'secret', ctx), { ok: true, user: 'Mixed@example.org' });
  assert.deepEqual(await auth.verify('mixed@example.org', 'secret', ctx), { ok: false, reason: 'unknown-user' });
});

test('an unsupported scheme fails and is logged without the secret', async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
  const auth = new FileAuthenticator(users, { logger });
  assert.deepEqual(await auth.verify('old', 'secret', ctx), { ok: false, reason: 'bad-password' });
  assert.equal(lines.length, 1);
  const record = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(record['user'], 'old');
  assert.equal(record['scheme'], 'SSHA');
  assert.doesNotMatch(lines[0] ?? '', /9DYDOC/);
  await auth.verify('scrypt', 'wrong', ctx);
  assert.equal(lines.length, 1, 'supported schemes are not logged');
});

test('an unknown user takes about as long as a wrong password', async () => {
  const auth = new FileAuthenticator(users);
  const time = async (user: string): Promise<number> => {
    const started = process.hrtime.bigint();
    await auth.verify(user, 'wrong', ctx);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  await time('scrypt');
  await time('nobody');
  const wrong: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 3; i++) {
    wrong.push(await time('scrypt'));
    unknown.push(await time('nobody'));
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[1] ?? 0;
  // Loose bounds: the point is that the unknown user is not answered near-instantly.
  assert.ok(median(unknown) > median(wrong) * 0.4, `unknown ${median(unknown)} ms vs wrong ${median(wrong)} ms`);
  assert.ok(median(unknown) < median(wrong) * 2.5, `unknown ${median(unknown)} ms vs wrong ${median(wrong)} ms`);
});

test('APOP: each outcome', async () => {
  const auth = new FileAuthenticator(users);
  // The example of RFC 1939 section 7.
  const timestamp = '<1896.697170952@dbc.mtview.ca.us>';
  const digest = 'c4c9334bac560ecc979e58001b3e22fb';
  assert.equal(createHash('md5').update(timestamp + 'tanstaaf').digest('hex'), digest);
  assert.deepEqual(await auth.verifyApop('apop', timestamp, digest, ctx), { ok: true, user: 'apop' });
  assert.deepEqual(await auth.verifyApop('apop', timestamp, digest.toUpperCase(), ctx), { ok: true, user: 'apop' });
  assert.deepEqual(await auth.verifyApop('apop', timestamp, digest.replace('c4', 'c5'), ctx), { ok: false, reason: 'bad-password' });
  assert.deepEqual(await auth.verifyApop('apop', timestamp, digest.slice(1), ctx), { ok: false, reason: 'bad-password' });
  assert.deepEqual(await auth.verifyApop('apop', '<other@host>', digest, ctx), { ok: false, reason: 'bad-password' });
  assert.deepEqual(await auth.verifyApop('apop', timestamp, '', ctx), { ok: false, reason: 'bad-password' });

  const mixedDigest = createHash('md5').update(`${timestamp}secret`).digest('hex');
  assert.deepEqual(await auth.verifyApop('Mixed@Example.org', timestamp, mixedDigest, ctx), { ok: true, user: 'Mixed@example.org' });

  assert.deepEqual(await auth.verifyApop('scrypt', timestamp, digest, ctx), { ok: false, reason: 'no-apop-secret' });
  assert.deepEqual(await auth.verifyApop('crypt', timestamp, digest, ctx), { ok: false, reason: 'no-apop-secret' });
  assert.deepEqual(await auth.verifyApop('nobody', timestamp, digest, ctx), { ok: false, reason: 'unknown-user' });
  assert.deepEqual(await auth.verifyApop('a/b', timestamp, digest, ctx), { ok: false, reason: 'invalid-name' });
});
