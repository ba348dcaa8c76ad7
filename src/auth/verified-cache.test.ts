import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileAuthenticator } from './file-authenticator.js';
import type { AuthContext } from './types.js';
import { UsersFile } from './users-file.js';
import { VerifiedPasswordCache } from './verified-cache.js';

const ctx: AuthContext = { remoteAddress: '192.0.2.1', secure: true };

describe('VerifiedPasswordCache', () => {
  it('matches only the password it was given, only against the same stored hash', () => {
    const cache = new VerifiedPasswordCache(10);
    cache.remember('alice', '{SCRYPT}one', 'secret');
    assert.equal(cache.matches('alice', '{SCRYPT}one', 'secret'), true);
    assert.equal(cache.matches('alice', '{SCRYPT}one', 'Secret'), false, 'another password');
    assert.equal(cache.matches('bob', '{SCRYPT}one', 'secret'), false, 'another user');
    assert.equal(cache.matches('alice', '{SCRYPT}two', 'secret'), false, 'the stored hash changed');
    assert.equal(cache.matches('alice', '{SCRYPT}one', 'secret'), false, 'and the entry is gone for good');
  });

  it('is bounded, and drops the least recently used first', () => {
    const cache = new VerifiedPasswordCache(2);
    cache.remember('a', 'h', 'p');
    cache.remember('b', 'h', 'p');
    assert.equal(cache.matches('a', 'h', 'p'), true, 'a is now the most recent');
    cache.remember('c', 'h', 'p');
    assert.equal(cache.size, 2);
    assert.equal(cache.matches('b', 'h', 'p'), false, 'b was evicted');
    assert.equal(cache.matches('a', 'h', 'p'), true);
    assert.equal(cache.matches('c', 'h', 'p'), true);
  });

  it('keeps nothing with a size of 0', () => {
    const cache = new VerifiedPasswordCache(0);
    cache.remember('a', 'h', 'p');
    assert.equal(cache.size, 0);
    assert.equal(cache.matches('a', 'h', 'p'), false);
  });
});

describe('FileAuthenticator with its verified-password cache', () => {
  let dir: string;
  let users: UsersFile;
  // A cheap scrypt cost keeps the test fast; caching does not depend on the cost.
  const cost = { ln: 4 };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'postel-authcache-'));
    users = new UsersFile(join(dir, 'users'));
    await users.add('carol', 'first password', { cost });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts repeated logins, still refuses a wrong password, and follows a password change', async () => {
    const auth = new FileAuthenticator(users);
    assert.deepEqual(await auth.verify('carol', 'first password', ctx), { ok: true, user: 'carol' });
    assert.deepEqual(await auth.verify('carol', 'first password', ctx), { ok: true, user: 'carol' });
    assert.deepEqual(await auth.verify('carol', 'wrong', ctx), { ok: false, reason: 'bad-password' });

    // Another process (postel user passwd) rewrites the users file.
    await new UsersFile(users.path).setPassword('carol', 'second password', { cost });
    assert.deepEqual(await auth.verify('carol', 'first password', ctx), { ok: false, reason: 'bad-password' }, 'the old password no longer opens it');
    assert.deepEqual(await auth.verify('carol', 'second password', ctx), { ok: true, user: 'carol' });
  });

  it('forgets a removed user', async () => {
    const auth = new FileAuthenticator(users);
    await users.add('dave', 'pw', { cost });
    assert.equal((await auth.verify('dave', 'pw', ctx)).ok, true);
    await users.remove('dave');
    assert.deepEqual(await auth.verify('dave', 'pw', ctx), { ok: false, reason: 'unknown-user' });
  });
});
