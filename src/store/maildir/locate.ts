import { readdir } from 'node:fs/promises';
import { isErrno } from '../../fs/errno.js';
import { basenameOf } from './file-names.js';
import type { MaildirLayout } from './layout.js';

/**
 * Where a message is now, found by its base name: another program (an IMAP server, a filter)
 * may have moved it between new/ and cur/ or changed its flags. Null when it is in neither.
 */
export async function locateMessage(layout: MaildirLayout, basename: string): Promise<{ readonly dir: 'cur' | 'new'; readonly fileName: string } | null> {
  for (const dir of ['cur', 'new'] as const) {
    let names: string[];
    try {
      names = await readdir(layout[dir]);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      throw err;
    }
    const fileName = names.find((n) => basenameOf(n) === basename);
    if (fileName !== undefined) return { dir, fileName };
  }
  return null;
}
