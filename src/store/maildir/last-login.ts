import { statSync, utimesSync } from 'node:fs';
import { open, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { blockingOr, type BlockingGuard } from '../../fs/blocking-guard.js';
import { fsyncDir } from '../../fs/durable.js';
import { isErrno } from '../../fs/errno.js';
import type { MaildirLayout } from './layout.js';

/*
 * The time of a user's last POP3 login is the modification time of an empty file in the
 * Maildir (postel-lastlogin). Recording it is one utimes(2), where writing a new file and
 * renaming it into place took five system calls through the thread pool on every login;
 * it needs no data block, so it works on a full disk. Files written by earlier versions held
 * the time as text, written at that time: their mtime says the same.
 */

export async function readLastLogin(layout: MaildirLayout, blocking?: BlockingGuard): Promise<Date | null> {
  const path = join(layout.dir, layout.lastLoginName);
  try {
    return (
      await blockingOr(
        blocking,
        () => statSync(path),
        () => stat(path),
      )
    ).mtime;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

/** `durable`: fsynced before it returns (LOGIN-DELAY depends on it surviving a crash). */
export async function recordLastLogin(layout: MaildirLayout, at: Date, durable: boolean, blocking?: BlockingGuard): Promise<void> {
  const path = join(layout.dir, layout.lastLoginName);
  let created = false;
  try {
    await blockingOr(
      blocking,
      () => utimesSync(path, at, at),
      () => utimes(path, at, at),
    );
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    // The first login: an empty file, then its time (open() would stamp the clock's).
    await (await open(path, 'a', 0o600)).close();
    await utimes(path, at, at);
    created = true;
  }
  if (!durable) return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (created) await fsyncDir(layout.dir);
}
