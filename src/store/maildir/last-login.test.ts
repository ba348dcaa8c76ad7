import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { maildirLayout, type MaildirLayout } from './layout.js';
import { readLastLogin, recordLastLogin } from './last-login.js';

/** Runs `test` with the layout of a user whose Maildir folder exists (or not), in a temporary root. */
async function withLayout(user: string, made: boolean, test: (layout: MaildirLayout) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'postel-lastlogin-'));
  try {
    const layout = maildirLayout(root, user);
    if (made) await mkdir(layout.dir, { recursive: true });
    await test(layout);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

describe('the last login as the mtime of postel-lastlogin', () => {
  it('is null before the first login, then exactly the time recorded, durable or not, going back in time too', () =>
    withLayout('alice', true, async (layout) => {
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
    }));

  it('reads a file an earlier version wrote (the time as text) by its mtime, which it was written at', () =>
    withLayout('bob', true, async (layout) => {
      const path = join(layout.dir, layout.lastLoginName);
      const at = new Date('2026-11-30T12:00:00.000Z');
      await writeFile(path, String(at.getTime()));
      await utimes(path, at, at);
      assert.equal((await readLastLogin(layout))?.toISOString(), at.toISOString());
    }));

  it('fails when the Maildir itself is gone instead of making it', () =>
    withLayout('carol', false, async (layout) => {
      await assert.rejects(recordLastLogin(layout, new Date(), false), { code: 'ENOENT' });
    }));
});
