import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';

export interface AdminToken {
  readonly token: string;
  readonly created: boolean;
}

/**
 * The HTTP API's admin token: made once (256 random bits) into `path` (DATA/admin-token), mode 0600,
 * and read back on later starts, so scripts keep working across restarts. Deleting the file
 * makes a new one at the next start.
 */
export async function ensureAdminToken(path: string): Promise<AdminToken> {
  try {
    const existing = (await readFile(path, 'utf8')).trim();
    if (existing.length >= 32) return { token: existing, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  await writeFile(path, `${token}\n`, { mode: 0o600 });
  return { token, created: true };
}
