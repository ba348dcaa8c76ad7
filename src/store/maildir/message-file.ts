import { constants, fstatSync, openSync, closeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * Message files are opened without following a symlink and must be regular files. Other
 * programs (Postfix, procmail, a user's shell) write into these maildrops and postel serves
 * every user from one uid: `ln -s /etc/shadow new/1.x` must not become a message. O_NONBLOCK
 * keeps a FIFO planted there from hanging the open; it changes nothing for regular files.
 */
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Not a regular file (a symlink, FIFO, device or directory where a message should be). */
export class NotAMessageFileError extends Error {
  override readonly name = 'NotAMessageFileError';
  readonly code = 'ENOTMSG';
  constructor(readonly path: string) {
    super(`${path} is not a regular file`);
  }
}

export async function openMessageFile(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, FLAGS);
  } catch (err) {
    // O_NOFOLLOW on a symlink fails with ELOOP.
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ELOOP') throw new NotAMessageFileError(path);
    throw err;
  }
  try {
    if ((await handle.stat()).isFile()) return handle;
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw err;
  }
  await handle.close().catch(() => undefined);
  throw new NotAMessageFileError(path);
}

/** openMessageFile with blocking calls; undefined when the path is not a readable regular file. */
export function openMessageFileSync(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch {
    return undefined;
  }
  try {
    if (fstatSync(fd).isFile()) return fd;
  } catch {
    // fall through
  }
  closeSync(fd);
  return undefined;
}
