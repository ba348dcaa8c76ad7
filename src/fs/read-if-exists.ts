import { readFile } from 'node:fs/promises';
import { isErrno } from './errno.js';

/**
 * A file's contents, or null when there is no such file: for the files a store keeps beside
 * its mail (indexes, snapshots, the last login) that are made on first use. Any other error
 * is thrown.
 */
export async function readFileIfExists(path: string): Promise<Buffer | null>;
export async function readFileIfExists(path: string, encoding: 'utf8'): Promise<string | null>;
export async function readFileIfExists(path: string, encoding?: 'utf8'): Promise<Buffer | string | null> {
  try {
    return encoding ? await readFile(path, encoding) : await readFile(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}
