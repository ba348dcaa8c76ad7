import assert from 'node:assert/strict';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UsersFile } from '../users-file.js';
import { createMechanisms } from './mechanisms.js';
import type { SaslContext } from './types.js';
import { UsersCredentials } from './users-credentials.js';

let dir: string;
let users: UsersFile;
const ctx: SaslContext = { remoteAddress: '127.0.0.1', secure: true };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postel-sasl-'));
  const path = join(dir, 'users');
  await writeFile(
    path,
    [
      'plain@example.org:{PLAIN}tanstaaf',
      // RFC 7677's example user, as a Dovecot users file would hold it.
      'user:{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=',
      '',
    ].join('\n'),
  );
  users = new UsersFile(path);
  await users.add('scrypt', 'correct horse', { cost: { ln: 4 } });
  await users.add('both', 'battery staple', { cost: { ln: 4 }, scram: { iterations: 4096 } });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('verifyPassword gives the canonical name or null', async () => {
  const credentials = new UsersCredentials(users);
  assert.equal(await credentials.verifyPassword('scrypt', 'correct horse'), 'scrypt');
  assert.equal(await credentials.verifyPassword('plain@EXAMPLE.org', 'tanstaaf'), 'plain@example.org');
  assert.equal(await credentials.verifyPassword('user', 'pencil'), 'user', 'a {SCRAM-SHA-256} password verifies too');
  assert.equal(await credentials.verifyPassword('scrypt', 'wrong'), null);
  assert.equal(await credentials.verifyPassword('nobody', 'x'), null);
  assert.equal(await credentials.verifyPassword('../etc', 'x'), null);
});

test('scram, plaintextSecret and exists read the right things', async () => {
  const credentials = new UsersCredentials(users);
  assert.equal((await credentials.scram('user'))?.iterations, 4096);
  assert.equal((await credentials.scram('both'))?.user, 'both');
  assert.equal(await credentials.scram('scrypt'), null, 'no keys stored');
  assert.equal(await credentials.scram('nobody'), null);
  assert.equal(await credentials.scram('a/b'), null);
  assert.deepEqual(await credentials.plaintextSecret('plain@Example.ORG'), { user: 'plain@example.org', secret: 'tanstaaf' });
  assert.equal(await credentials.plaintextSecret('scrypt'), null);
  assert.equal(await credentials.exists('PLAIN@example.org'), null, 'the local part keeps its case');
  assert.equal(await credentials.exists('plain@example.ORG'), 'plain@example.org');
  assert.equal(await credentials.exists('ghost'), null);
});

test('a user added with SCRAM keys logs in with SCRAM-SHA-256 end to end', async () => {
  const [scram] = createMechanisms(['SCRAM-SHA-256'], { credentials: new UsersCredentials(users), scramIterations: 4096 });
  assert.ok(scram);
  for (const [password, expected] of [
    ['battery staple', 'success'],
    ['battery stapler', 'challenge'],
  ] as const) {
    const exchange = scram.start(ctx);
    const bare = 'n=both,r=clientnonce';
    const first = await exchange.step(Buffer.from(`n,,${bare}`));
    assert.ok(first.kind === 'challenge');
    const serverFirst = first.data.toString();
    const [, salt = '', iterations = ''] = /,s=([^,]+),i=(\d+)$/.exec(serverFirst) ?? [];
    const salted = pbkdf2Sync(password, Buffer.from(salt, 'base64'), Number(iterations), 32, 'sha256');
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    const withoutProof = `c=biws,${serverFirst.split(',')[0]}`;
    const signature = createHmac('sha256', createHash('sha256').update(clientKey).digest()).update(`${bare},${serverFirst},${withoutProof}`).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ (signature[i] ?? 0))).toString('base64');
    const outcome = await exchange.step(Buffer.from(`${withoutProof},p=${proof}`));
    assert.equal(outcome.kind, expected, password);
  }
});

test('PLAIN over the users file', async () => {
  const [plain] = createMechanisms(['PLAIN'], { credentials: new UsersCredentials(users) });
  assert.ok(plain);
  assert.deepEqual(await plain.start(ctx).step(Buffer.from('\0both\0battery staple')), { kind: 'success', user: 'both' });
  assert.equal((await plain.start(ctx).step(Buffer.from('\0both\0nope'))).kind, 'failure');
});
