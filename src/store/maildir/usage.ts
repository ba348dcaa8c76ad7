import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isErrno } from '../../fs/errno.js';

/**
 * Stored bytes in a user's Maildir (new/ and cur/), from the S= field that postel, Dovecot
 * and Postfix put in file names; only files without one are stat'ed. Nothing is read.
 */
export async function maildropUsage(maildir: string): Promise<number> {
  return (await maildropCounts(maildir)).bytes;
}

/** Messages and stored bytes of a user's Maildir, counted the same way (for the metrics). */
export async function maildropCounts(maildir: string): Promise<{ messages: number; bytes: number }> {
  let bytes = 0;
  let messages = 0;
  for (const sub of ['new', 'cur']) {
    const dir = join(maildir, sub);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      // A maildrop that does not exist yet is empty; one we cannot list fails delivery later.
      if (isErrno(err, 'ENOENT', 'ENOTDIR')) continue;
      throw err;
    }
    for (const name of names) {
      if (name.startsWith('.')) continue;
      messages++;
      const m = /,S=(\d{1,15})(?:[,:]|$)/.exec(name);
      if (m?.[1] !== undefined) {
        bytes += Number(m[1]);
        continue;
      }
      try {
        bytes += (await stat(join(dir, name))).size;
      } catch {
        // Removed while we counted: it no longer counts.
        messages--;
      }
    }
  }
  return { messages, bytes };
}
