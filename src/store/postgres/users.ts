import type { Sql } from 'postgres';
import { UnknownUserError, UserExistsError } from '../../auth/errors.js';
import type { UserEntry } from '../../auth/passwd-lines.js';
import { withExtraField } from '../../auth/passwd-lines.js';
import { normalizeUserName } from '../../auth/user-name.js';
import { SCRAM_EXTRA_FIELD, storablePassword, withQuota, type PasswordOptions } from '../../auth/users-file.js';
import type { Users } from '../../auth/users.js';
import { toStoreError } from '../errors.js';
import { connectPostgres } from './postgres-store.js';

/**
 * Users in the store's database, for several nodes: every lookup reads the table, so a
 * password changed on one node (or with `postel user passwd` anywhere) counts at the next
 * login on all of them. Same entries, schemes and SCRAM keys as the users file.
 */
export class PostgresUsers implements Users {
  private readonly sql: Sql;

  constructor(url: string) {
    // A login is one short query: a small pool of its own keeps logins off the mail's pool.
    this.sql = connectPostgres(url, { max: 4 });
  }

  async lookup(name: string): Promise<UserEntry | undefined> {
    const user = normalizeUserName(name);
    const [row] = await this.query(() => this.sql<{ name: string; password: string; extra: string[] }[]>`SELECT name, password, extra FROM users WHERE name = ${user}`);
    return row === undefined ? undefined : { name: row.name, password: row.password, extra: row.extra };
  }

  async list(): Promise<UserEntry[]> {
    const rows = await this.query(() => this.sql<{ name: string; password: string; extra: string[] }[]>`SELECT name, password, extra FROM users ORDER BY name`);
    return rows.map((r) => ({ name: r.name, password: r.password, extra: r.extra }));
  }

  /** Asked in the database: no list of every user crosses the wire per RCPT. */
  async hasDomain(domain: string): Promise<boolean> {
    const suffix = `@${domain.toLowerCase()}`;
    const [row] = await this.query(() => this.sql<{ found: boolean }[]>`SELECT EXISTS (SELECT 1 FROM users WHERE right(name, char_length(${suffix}::text)) = ${suffix}) AS found`);
    return row?.found === true;
  }

  async add(name: string, password: string, options: PasswordOptions = {}): Promise<void> {
    const user = normalizeUserName(name);
    if ((await this.lookup(user)) !== undefined) throw new UserExistsError(user);
    const stored = await storablePassword(user, password, options);
    const extra = withExtraField([], SCRAM_EXTRA_FIELD, stored.scram);
    const rows = await this.query(() => this.sql`INSERT INTO users (name, password, extra) VALUES (${user}, ${stored.password}, ${extra}) ON CONFLICT (name) DO NOTHING RETURNING 1`);
    if (rows.length === 0) throw new UserExistsError(user);
  }

  async setPassword(name: string, password: string, options: PasswordOptions = {}): Promise<void> {
    const user = normalizeUserName(name);
    // Checked before hashing too, to fail fast without spending a hash.
    if ((await this.lookup(user)) === undefined) throw new UnknownUserError(user);
    const stored = await storablePassword(user, password, options);
    await this.change(user, (entry) => ({ password: stored.password, extra: withExtraField(entry.extra, SCRAM_EXTRA_FIELD, stored.scram) }));
  }

  async setQuota(name: string, bytes: number | null): Promise<void> {
    const user = normalizeUserName(name);
    await this.change(user, (entry) => ({ password: entry.password, extra: withQuota(entry.extra, bytes) }));
  }

  async remove(name: string): Promise<void> {
    const user = normalizeUserName(name);
    const rows = await this.query(() => this.sql`DELETE FROM users WHERE name = ${user} RETURNING 1`);
    if (rows.length === 0) throw new UnknownUserError(user);
  }

  /** Copies entries (from a users file) that the table does not have yet; returns how many. */
  async importEntries(entries: readonly UserEntry[]): Promise<number> {
    let added = 0;
    for (const e of entries) {
      const rows = await this.query(() => this.sql`INSERT INTO users (name, password, extra) VALUES (${e.name}, ${e.password}, ${[...e.extra]}) ON CONFLICT (name) DO NOTHING RETURNING 1`);
      added += rows.length;
    }
    return added;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  /**
   * Rewrites one user's row from its current value, with the row locked: a quota set on one
   * node and a password changed on another at the same moment must both stay.
   */
  private async change(user: string, next: (entry: UserEntry) => { password: string; extra: readonly string[] }): Promise<void> {
    const found = await this.query(() =>
      this.sql.begin(async (tx) => {
        const [row] = await tx<{ name: string; password: string; extra: string[] }[]>`SELECT name, password, extra FROM users WHERE name = ${user} FOR UPDATE`;
        if (row === undefined) return false;
        const { password, extra } = next(row);
        await tx`UPDATE users SET password = ${password}, extra = ${[...extra]} WHERE name = ${user}`;
        return true;
      }),
    );
    if (!found) throw new UnknownUserError(user);
  }

  private async query<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw toStoreError(err, 'the users table could not be read or changed');
    }
  }
}
