import type { BigIntStats } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { replaceFileAtomic } from '../fs/durable.js';
import { errnoCode } from '../fs/errno.js';
import { LockBusyError, LockFile } from '../fs/lock-file.js';
import { BlockingGuard, statBigint } from '../fs/blocking-guard.js';
import { UnknownUserError, UnstorablePasswordError, UserExistsError, UsersFileLockError } from './errors.js';
import {
  entryLine,
  extraFieldValue,
  formatPasswdLines,
  parsePasswdLines,
  withExtraField,
  withPassword,
  type PasswdLine,
  type UserEntry,
} from './passwd-lines.js';
import { hashPassword, scramKeysOfPassword, type HashScheme } from './password-schemes.js';
import { formatScramKeys, generateScramKeys, parseScramKeys } from './sasl/scram-keys.js';
import type { ScramKeys } from './sasl/types.js';
import type { ScryptCost } from './scrypt-hash.js';
import { normalizeUserName } from './user-name.js';
import type { Users } from './users.js';

export type { UserEntry };
export { UnknownUserError, UnstorablePasswordError, UserExistsError, UsersFileLockError } from './errors.js';

export interface UsersFileLockOptions {
  /** How long a writer waits for another one. Default 5 s. */
  readonly timeoutMs?: number;
  /** A lock older than this was left by a writer that died (a write takes milliseconds). Default 30 s. */
  readonly staleMs?: number;
  readonly retryMs?: number;
}

export interface PasswordOptions {
  /** SCRYPT by default; PLAIN only for users who need APOP. */
  readonly scheme?: HashScheme;
  readonly cost?: Partial<ScryptCost>;
  /**
   * Also store SCRAM-SHA-256 keys, for the SCRAM mechanisms, in the `scram-sha-256` extra
   * field (iterations: DEFAULT_SCRAM_ITERATIONS if not given). Off unless asked for: the
   * caller knows whether a SCRAM mechanism is enabled, and without one the keys would only
   * be a cheaper target than the scrypt hash for whoever steals the file. Setting a password
   * without them removes old ones, which the old password would still open.
   */
  readonly scram?: { readonly iterations?: number } | false;
}

/** Every extra field that can set a quota (see src/smtp/quota.ts). */
const QUOTA_FIELDS = ['quota', 'userdb_quota', 'quota_rule', 'userdb_quota_rule'];

/** The extra field that holds SCRAM-SHA-256 keys: `scram-sha-256=ITER,SALT,STOREDKEY,SERVERKEY`. */
export const SCRAM_EXTRA_FIELD = 'scram-sha-256';

interface Snapshot {
  /** Identity of the file version the snapshot was read from. */
  readonly version: string;
  /**
   * Whether the file had changed shortly before it was read. File timestamps advance in
   * clock ticks, so a same-size in-place edit within the same tick leaves the version
   * unchanged; such a snapshot is not reused (the "racy clean" problem git also has).
   */
  readonly racy: boolean;
  readonly users: ReadonlyMap<string, UserEntry>;
}

const MISSING = 'missing';
/** Comfortably more than the timestamp granularity of common file systems. */
const RACY_WINDOW_MS = 2000;

/**
 * The users file, a Dovecot passwd-file. Reads are cached and revalidated with one stat per
 * lookup, so a password changed by `postel user passwd` in another process applies to the
 * next login (a blocking stat while those are fast: through the thread pool it cost a login
 * more than the rest of its file work). Writes take `<path>.lock`, re-read the file, and replace it atomically, so
 * concurrent writers in any process never lose each other's changes.
 *
 * Name arguments go through normalizeUserName and throw InvalidUserNameError if invalid.
 */
export class UsersFile implements Users {
  readonly lockPath: string;
  private snapshot: Snapshot | undefined;
  /** Writers in this process queue here instead of polling the lock file against each other. */
  private writes: Promise<unknown> = Promise.resolve();
  private readonly blocking = new BlockingGuard();

  constructor(readonly path: string, private readonly lockOptions: UsersFileLockOptions = {}) {
    this.lockPath = `${path}.lock`;
  }

  async lookup(name: string): Promise<UserEntry | undefined> {
    const user = normalizeUserName(name);
    return (await this.current()).users.get(user);
  }

  /** Every user, in file order; for a name listed twice, the first line wins (as in Dovecot). */
  async list(): Promise<UserEntry[]> {
    return [...(await this.current()).users.values()];
  }

  /** The file is cached (one stat per call), so going through every name is cheap. */
  async hasDomain(domain: string): Promise<boolean> {
    const suffix = `@${domain.toLowerCase()}`;
    return (await this.list()).some((u) => u.name.endsWith(suffix));
  }

  async add(name: string, password: string, options: PasswordOptions = {}): Promise<void> {
    const user = normalizeUserName(name);
    // Checked before hashing too, to fail fast without spending a hash.
    if ((await this.lookup(user)) !== undefined) throw new UserExistsError(user);
    const stored = await storablePassword(user, password, options);
    await this.modify((lines) => {
      if (lines.some((line) => line.entry?.name === user)) throw new UserExistsError(user);
      return [...lines, entryLine(user, stored.password, withExtraField([], SCRAM_EXTRA_FIELD, stored.scram))];
    });
  }

  async setPassword(name: string, password: string, options: PasswordOptions = {}): Promise<void> {
    const user = normalizeUserName(name);
    if ((await this.lookup(user)) === undefined) throw new UnknownUserError(user);
    const stored = await storablePassword(user, password, options);
    await this.modify((lines) => {
      const index = lines.findIndex((line) => line.entry?.name === user);
      const line = lines[index];
      if (line === undefined) throw new UnknownUserError(user);
      const extra = withExtraField(line.entry?.extra ?? [], SCRAM_EXTRA_FIELD, stored.scram);
      return lines.with(index, withPassword(line, stored.password, extra));
    });
  }

  /**
   * Sets the user's storage limit in bytes (`quota=N` in the extra fields, which the SMTP
   * side's quota check reads), or removes every quota field for null: no limit.
   */
  async setQuota(name: string, bytes: number | null): Promise<void> {
    const user = normalizeUserName(name);
    await this.modify((lines) => {
      const index = lines.findIndex((line) => line.entry?.name === user);
      const line = lines[index];
      if (line?.entry === undefined) throw new UnknownUserError(user);
      return lines.with(index, withPassword(line, line.entry.password, withQuota(line.entry.extra, bytes)));
    });
  }

  /** Nothing is held open between calls. */
  async close(): Promise<void> {}

  /** Removes every line of the user, so that no later duplicate line takes over the name. */
  async remove(name: string): Promise<void> {
    const user = normalizeUserName(name);
    await this.modify((lines) => {
      const kept = lines.filter((line) => line.entry?.name !== user);
      if (kept.length === lines.length) throw new UnknownUserError(user);
      return kept;
    });
  }

  private async current(): Promise<Snapshot> {
    const version = await this.version();
    if (this.snapshot !== undefined && !this.snapshot.racy && this.snapshot.version === version) return this.snapshot;
    this.snapshot = version === MISSING ? emptySnapshot() : await this.read();
    return this.snapshot;
  }

  private async version(): Promise<string> {
    try {
      return versionOf(await statBigint(this.path, this.blocking));
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return MISSING;
      throw error;
    }
  }

  /** Reads through one descriptor so the recorded version is that of the bytes read. */
  private async read(): Promise<Snapshot> {
    let handle;
    try {
      handle = await open(this.path, 'r');
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return emptySnapshot();
      throw error;
    }
    try {
      const info = await handle.stat({ bigint: true });
      const racy = Date.now() - Number(info.mtimeMs) < RACY_WINDOW_MS || Date.now() - Number(info.ctimeMs) < RACY_WINDOW_MS;
      return { version: versionOf(info), racy, users: usersOf(parsePasswdLines(await handle.readFile('utf8'))) };
    } finally {
      await handle.close();
    }
  }

  private modify(change: (lines: PasswdLine[]) => PasswdLine[]): Promise<void> {
    const run = this.writes.then(async () => {
      const { timeoutMs = 5000, staleMs = 30_000, retryMs = 20 } = this.lockOptions;
      const lock = await LockFile.acquire({ path: this.lockPath, wait: { timeoutMs, retryMs }, staleAfterMs: staleMs }).catch((err: unknown) => {
        throw err instanceof LockBusyError ? new UsersFileLockError(this.lockPath, { cause: err }) : err;
      });
      try {
        const lines = parsePasswdLines(await readOrEmpty(this.path));
        await replaceFileAtomic(this.path, formatPasswdLines(change(lines)), { mode: 0o600 });
        this.snapshot = undefined;
      } finally {
        await lock.release();
      }
    });
    this.writes = run.catch(() => undefined);
    return run;
  }
}

/**
 * The SCRAM-SHA-256 keys of a user: from a `{SCRAM-SHA-256}` password (a Dovecot file), else
 * from the extra field. Undefined when there are none or they are malformed.
 */
export function scramKeysOf(entry: UserEntry): ScramKeys | undefined {
  const fromPassword = scramKeysOfPassword(entry.password);
  if (fromPassword !== undefined) return fromPassword;
  const field = extraFieldValue(entry.extra, SCRAM_EXTRA_FIELD);
  return field === undefined ? undefined : parseScramKeys(field);
}

/**
 * The extra fields with the storage limit set to `bytes` (`quota=N`, which the SMTP side's
 * quota check reads), every other quota field removed; null or 0: no limit.
 */
export function withQuota(extra: readonly string[], bytes: number | null): readonly string[] {
  if (bytes !== null && (!Number.isSafeInteger(bytes) || bytes < 0)) throw new RangeError('a quota is a whole number of bytes');
  let result = extra;
  for (const key of QUOTA_FIELDS) result = withExtraField(result, key, undefined);
  return withExtraField(result, 'quota', bytes === null || bytes === 0 ? undefined : String(bytes));
}

/** The password as stored (hash, and SCRAM keys when asked for); any user store uses this. */
export async function storablePassword(user: string, password: string, options: PasswordOptions): Promise<{ password: string; scram: string | undefined }> {
  const stored = await hashPassword(password, options.scheme, options.cost);
  if (/[:\x00-\x1f\x7f]/.test(stored)) throw new UnstorablePasswordError(user);
  const scram = options.scram ? formatScramKeys(await generateScramKeys(password, options.scram.iterations)) : undefined;
  return { password: stored, scram };
}

function usersOf(lines: readonly PasswdLine[]): Map<string, UserEntry> {
  const users = new Map<string, UserEntry>();
  for (const { entry } of lines) {
    if (entry !== undefined && !users.has(entry.name)) users.set(entry.name, entry);
  }
  return users;
}

function emptySnapshot(): Snapshot {
  return { version: MISSING, racy: false, users: new Map() };
}

function versionOf(info: BigIntStats): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return '';
    throw error;
  }
}
