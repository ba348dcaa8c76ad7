import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../../fs/errno.js';

/** Where one user's files live: ROOT/<user>, the layout Dovecot's maildir:ROOT/%u expects. */
export interface MaildirLayout {
  readonly dir: string;
  readonly new: string;
  readonly cur: string;
  readonly tmp: string;
  readonly lock: string;
  readonly indexName: string;
  readonly lastLoginName: string;
}

export const INDEX_FILE = 'postel-uidlist';
export const LAST_LOGIN_FILE = 'postel-lastlogin';
export const LOCK_FILE = 'postel.lock';

export function maildirLayout(root: string, user: string): MaildirLayout {
  const dir = join(root, user);
  return {
    dir,
    new: join(dir, 'new'),
    cur: join(dir, 'cur'),
    tmp: join(dir, 'tmp'),
    lock: join(dir, LOCK_FILE),
    indexName: INDEX_FILE,
    lastLoginName: LAST_LOGIN_FILE,
  };
}

/** Mail is private: every directory is 0700, like Dovecot and Postfix create them. */
export async function ensureMaildir(layout: MaildirLayout): Promise<void> {
  await mkdir(layout.dir, { recursive: true, mode: 0o700 });
  for (const sub of [layout.tmp, layout.new, layout.cur]) {
    try {
      await mkdir(sub, { mode: 0o700 });
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw err;
    }
  }
}
