import { randomUUID } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorCode } from './errors.js';

/**
 * Replaces `path` so that readers see either the old or the new content, never a mix, and
 * so that after a crash the new content is either fully there or not at all: write a temp
 * file in the same directory (rename is atomic only within a file system), fsync it, rename
 * it over the target, then fsync the directory so the rename itself is durable.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  const directory = dirname(path);
  const temp = join(directory, `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    // open() applies the umask; the mode must be exact (secrets inside).
    await handle.chmod(mode);
    await handle.writeFile(data, 'utf8');
    await handle.sync();
    await handle.close();
    await rename(temp, path);
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(directory);
}

async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms and file systems cannot open or fsync a directory; the rename has
    // still happened, only its durability across a power loss is weaker there.
    const code = errorCode(error);
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}
