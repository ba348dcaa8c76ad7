import type { UserEntry } from './passwd-lines.js';
import type { PasswordOptions } from './users-file.js';

/**
 * Where users and their password hashes live: the users file (UsersFile) or, with a
 * PostgreSQL store, a table every node reads (PostgresUsers). Entries have the passwd-file
 * shape either way, so schemes, SCRAM keys and quota fields work the same.
 */
export interface Users {
  lookup(name: string): Promise<UserEntry | undefined>;
  list(): Promise<UserEntry[]>;
  /** Whether some address-form user name (`alice@example.org`) is at `domain`: mail to it is local. */
  hasDomain(domain: string): Promise<boolean>;
  add(name: string, password: string, options?: PasswordOptions): Promise<void>;
  setPassword(name: string, password: string, options?: PasswordOptions): Promise<void>;
  /** The storage limit in bytes; null (or 0) removes it. */
  setQuota(name: string, bytes: number | null): Promise<void>;
  remove(name: string): Promise<void>;
  /** Lets go of connections (a database pool); nothing for a file. */
  close(): Promise<void>;
}
