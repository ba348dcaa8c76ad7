import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Whether a path exists (tests look at what the CLI left on disk). */
export async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Message files in a user's new/ and cur/ (what POP3 would offer). */
export async function messageFiles(mailRoot: string, user: string): Promise<string[]> {
  const names: string[] = [];
  for (const sub of ['new', 'cur']) names.push(...(await readdir(join(mailRoot, user, sub))));
  return names;
}
