import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstat, lutimes, mkdtemp, readFile, readlink, rm, symlink } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LockBusyError, LockFile, parseHolder } from './lock-file.js';

let dir: string;
let n = 0;
const fresh = (): string => join(dir, `lock-${n++}`);
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postel-lockfile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function exitedPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  assert.ok(child.pid !== undefined);
  return child.pid;
}

describe('LockFile', () => {
  it('fails at once when held and says by whom', async () => {
    const path = fresh();
    const held = await LockFile.acquire({ path });
    const error = await LockFile.acquire({ path }).then(
      () => assert.fail('second acquire succeeded'),
      (err: unknown) => err,
    );
    assert.ok(error instanceof LockBusyError);
    assert.equal(error.holder?.pid, process.pid);
    assert.equal(error.holder?.host, hostname());
    await held.release();
    await (await LockFile.acquire({ path })).release();
  });

  it('waits for a holder to let go when asked to', async () => {
    const path = fresh();
    const held = await LockFile.acquire({ path });
    const waiting = LockFile.acquire({ path, wait: { timeoutMs: 10_000, retryMs: 10 } });
    setImmediate(() => void held.release());
    const second = await waiting;
    assert.ok(await second.isHeld());
    await second.release();
    await assert.rejects(lstat(path), { code: 'ENOENT' });
  });

  it('gives up waiting after the timeout', async () => {
    const path = fresh();
    const held = await LockFile.acquire({ path });
    await assert.rejects(LockFile.acquire({ path, wait: { timeoutMs: 100, retryMs: 10 } }), LockBusyError);
    await held.release();
  });

  it('takes over from a dead process on this host, never from a live one elsewhere unless it is old', async () => {
    const dead = fresh();
    await symlink(`${await exitedPid()}:t@${hostname()}`, dead);
    await (await LockFile.acquire({ path: dead })).release();

    const remote = fresh();
    await symlink(`${await exitedPid()}:t@elsewhere.example`, remote);
    await assert.rejects(LockFile.acquire({ path: remote }), LockBusyError);
    await assert.rejects(LockFile.acquire({ path: remote, staleAfterMs: 60_000 }), LockBusyError);
    const old = Date.now() / 1000 - 120;
    await lutimes(remote, old, old);
    await (await LockFile.acquire({ path: remote, staleAfterMs: 60_000 })).release();
  });

  it('does not judge a dead pid when told not to', async () => {
    const path = fresh();
    await symlink(`${await exitedPid()}:t@${hostname()}`, path);
    await assert.rejects(LockFile.acquire({ path, staleIfDead: false }), LockBusyError);
  });

  it('in file form writes a regular file with pid and host that other programs can read', async () => {
    const path = fresh();
    const lock = await LockFile.acquire({ path, form: 'file', mode: 0o644 });
    const info = await lstat(path);
    assert.ok(info.isFile());
    assert.equal(info.mode & 0o777, 0o644);
    const holder = parseHolder(await readFile(path, 'utf8'));
    assert.equal(holder?.pid, process.pid);
    assert.equal(holder?.host, hostname());
    await lock.release();
  });

  it('reads a bare pid (the dot-lock of another program) as a holder on this host', () => {
    assert.deepEqual(parseHolder('4242\n'), { pid: 4242, token: '', host: hostname() });
    assert.equal(parseHolder('garbage'), undefined);
  });

  it('refreshes its mtime and reports a takeover once', async () => {
    const path = fresh();
    let lost = 0;
    const lock = await LockFile.acquire({ path, refreshMs: 20, staleAfterMs: 60_000, onLost: () => lost++ });
    const old = Date.now() / 1000 - 300;
    await lutimes(path, old, old);
    for (let i = 0; i < 200 && Date.now() - (await lstat(path)).mtimeMs > 10_000; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(Date.now() - (await lstat(path)).mtimeMs < 10_000, 'refreshed');
    await rm(path);
    await symlink('1:usurper@elsewhere.example', path);
    for (let i = 0; i < 200 && lost === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lost, 1);
    assert.equal(await lock.isHeld(), false);
    await lock.release();
    assert.equal(await readlink(path), '1:usurper@elsewhere.example', 'a lock we lost is left alone');
  });
});
