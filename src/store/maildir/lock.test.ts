import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { lstat, lutimes, mkdtemp, readdir, readlink, rm, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseHolder } from '../../fs/lock-file.js';
import { MaildropLockedError } from '../errors.js';
import { MaildirStore } from './maildir-store.js';
import { waitFor } from '../../../test/support/wait-for.js';

const holderScript = fileURLToPath(new URL('./lock-holder.fixture.js', import.meta.url));

let root: string;
let store: MaildirStore;
let lockPath: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'postel-lock-'));
  store = new MaildirStore({ root, hostname: 'mx.example' });
  await store.deliver('alice', Buffer.from('Subject: x\n\nbody\n'));
  lockPath = join(root, 'alice', 'postel.lock');
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

/** A lock as postel writes it: a symlink whose target names the holder. */
async function writeLock(owner: { pid: number; host: string; token: string }, ageMs = 0): Promise<void> {
  await unlink(lockPath).catch(() => undefined);
  await symlink(`${owner.pid}:${owner.token}@${owner.host}`, lockPath);
  if (ageMs > 0) {
    const t = (Date.now() - ageMs) / 1000;
    await lutimes(lockPath, t, t);
  }
}

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  await once(child, 'exit');
  assert.ok(pid !== undefined);
  return pid;
}

async function lockOwner(): Promise<{ pid: number; token: string; host: string }> {
  const holder = parseHolder(await readlink(lockPath));
  assert.ok(holder !== undefined);
  return holder;
}

describe('maildrop lock', () => {
  it('is a symlink naming pid, token and host, and is removed on release', async () => {
    const drop = await store.openMaildrop('alice');
    assert.ok((await lstat(lockPath)).isSymbolicLink());
    const owner = await lockOwner();
    assert.equal(owner.pid, process.pid);
    assert.equal(owner.host, hostname());
    assert.match(owner.token, /^[0-9a-f]{12}\.[0-9a-z]+$/);
    await drop.release();
    assert.ok(!(await readdir(join(root, 'alice'))).includes('postel.lock'));
  });

  it('refuses a second store of the same process too', async () => {
    const drop = await store.openMaildrop('alice');
    const other = new MaildirStore({ root });
    await assert.rejects(other.openMaildrop('alice'), MaildropLockedError);
    await drop.release();
    await (await other.openMaildrop('alice')).release();
  });

  it('takes over a lock left by a process that has exited', async () => {
    await writeLock({ pid: await exitedPid(), host: hostname(), token: 'dead' });
    const drop = await store.openMaildrop('alice');
    assert.equal((await lockOwner()).pid, process.pid);
    await drop.release();
  });

  it('reads a lock file written by an earlier postel (JSON) and takes it over when its process is gone', async () => {
    await writeFile(lockPath, JSON.stringify({ pid: await exitedPid(), host: hostname(), token: 'old', since: Date.now() }));
    const drop = await store.openMaildrop('alice');
    assert.equal((await lockOwner()).pid, process.pid);
    await drop.release();
  });

  it('takes over a lock with our pid but an unknown token (an earlier process with our pid)', async () => {
    await writeLock({ pid: process.pid, host: hostname(), token: 'from-a-previous-life' });
    const drop = await store.openMaildrop('alice');
    assert.notEqual((await lockOwner()).token, 'from-a-previous-life');
    await drop.release();
  });

  it('respects a fresh lock from another host and takes over one not refreshed in time', async () => {
    const quick = new MaildirStore({ root, lockStaleMs: 5_000 });
    await writeLock({ pid: 1, host: 'elsewhere.example', token: 'remote' });
    await assert.rejects(quick.openMaildrop('alice'), MaildropLockedError);
    await writeLock({ pid: 1, host: 'elsewhere.example', token: 'remote' }, 6_000);
    const drop = await quick.openMaildrop('alice');
    assert.equal((await lockOwner()).pid, process.pid);
    await drop.release();
  });

  it('treats an unreadable lock as held until it is old', async () => {
    await writeFile(lockPath, '');
    await assert.rejects(store.openMaildrop('alice'), MaildropLockedError);
    const t = Date.now() / 1000 - 60;
    await utimes(lockPath, t, t);
    await (await store.openMaildrop('alice')).release();
  });

  it('does not take over while another takeover is in progress, but ignores an abandoned one', async () => {
    await writeLock({ pid: await exitedPid(), host: hostname(), token: 'dead' });
    // Held by a live process (the init process, pid 1, always exists).
    await symlink(`1:x@${hostname()}`, `${lockPath}.takeover`);
    await assert.rejects(store.openMaildrop('alice'), MaildropLockedError);
    const t = Date.now() / 1000 - 60;
    await lutimes(`${lockPath}.takeover`, t, t);
    const drop = await store.openMaildrop('alice');
    await drop.release();
    assert.deepEqual((await readdir(join(root, 'alice'))).filter((n) => n.startsWith('postel.lock')), []);
  });

  it('lets exactly one of many racing sessions take over a stale lock', async () => {
    await writeLock({ pid: await exitedPid(), host: hostname(), token: 'dead' });
    const stores = Array.from({ length: 8 }, () => new MaildirStore({ root }));
    const results = await Promise.allSettled(stores.map((s) => s.openMaildrop('alice')));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof MaildropLockedError);
    for (const r of won) await r.value.release();
  });

  it('refreshes the lock while held and leaves a lock it no longer owns alone', async () => {
    const refreshing = new MaildirStore({ root, lockRefreshMs: 30 });
    const drop = await refreshing.openMaildrop('alice');
    const t = Date.now() / 1000 - 300;
    await lutimes(lockPath, t, t);
    await waitFor(async () => Date.now() - (await lstat(lockPath)).mtimeMs < 5_000, 'the lock to be refreshed');

    // Someone decided we were dead and took over: we must neither write nor unlink.
    await writeLock({ pid: 1, host: 'elsewhere.example', token: 'usurper' });
    await assert.rejects(drop.commit({ deleted: new Set([0]), retrieved: new Set() }), /lock .* was lost/);
    assert.equal((await lockOwner()).token, 'usurper');
    assert.equal((await readdir(join(root, 'alice', 'new'))).length, 1);
  });

  it('refuses while another live process holds the lock and takes over once it is killed', async () => {
    const child = spawn(process.execPath, [holderScript, root, 'alice'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'locked 1');
    assert.equal((await lockOwner()).pid, child.pid);

    await assert.rejects(store.openMaildrop('alice'), MaildropLockedError);
    child.kill('SIGKILL');
    await once(child, 'exit');

    const drop = await store.openMaildrop('alice');
    assert.equal(drop.messages.length, 1);
    assert.equal((await lockOwner()).pid, process.pid);
    await drop.release();
  });

  it('lets a child process in after a clean release by the parent', async () => {
    const drop = await store.openMaildrop('alice');
    await drop.release();
    const child = spawn(process.execPath, [holderScript, root, 'alice'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    assert.equal(line.toString().trim(), 'locked 1');
    child.kill('SIGTERM');
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    assert.deepEqual({ code, signal }, { code: 0, signal: null });
    assert.ok(!(await readdir(join(root, 'alice'))).includes('postel.lock'), 'child released on SIGTERM');
  });
});
