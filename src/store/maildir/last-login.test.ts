import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { maildirLayout } from './layout.js';
import { readLastLogin, recordLastLogin } from './last-login.js';

describe('the last login as the mtime of postel-lastlogin', () => {
  it('is null before the first login, then exactly the time recorded, durable or not, going back in time too', async () => {
    const root = await mkdtemp(join(tmpdir(), 'postel-lastlogin-'));
    try {
      const layout = maildirLayout(root, 'alice');
      await mkdir(layout.dir, { recursive: true });
      assert.equal(await readLastLogin(layout), null);
      const first = new Date('2026-03-04T05:06:07.891Z');
      await recordLastLogin(layout, first, true);
      assert.equal((await readLastLogin(layout))?.toISOString(), first.toISOString());
      const path = join(layout.dir, layout.lastLoginName);
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      assert.equal((await readFile(path)).length, 0, 'no data block: it works on a full disk');
      const earlier = new Date('2025-01-01T00:00:00.001Z');
      await recordLastLogin(layout, earlier, false);
      assert.equal((await readLastLogin(layout))?.toISOString(), earlier.toISOString());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('reads a file an earlier version wrote (the time as text) by its mtime, which it was written at', async () => {
    const root = await mkdtemp(join(tmpdir(), 'postel-lastlogin-'));
    try {
      const layout = maildirLayout(root, 'bob');
      await mkdir(layout.dir, { recursive: true });
      const path = join(layout.dir, layout.lastLoginName);
      const at = new Date('2026-11-30T12:00:00.000Z');
      await writeFile(path, String(at.getTime()));
      await utimes(path, at, at);
      assert.equal((await readLastLogin(layout))?.toISOString(), at.toISOString());
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('fails when the Maildir itself is gone instead of making it', async () => {
    const root = await mkdtemp(join(tmpdir(), 'postel-lastlogin-'));
    try {
      const layout = maildirLayout(root, 'carol');
      await assert.rejects(recordLastLogin(layout, new Date(), false), { code: 'ENOENT' });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
