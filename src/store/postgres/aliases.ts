import type { Sql } from 'postgres';
import { aliasTable, isAliasKey, isAliasTarget, type AliasSource, type AliasTable } from '../../smtp/aliases.js';
import { StoreError, toStoreError } from '../errors.js';
import { connectPostgres } from './postgres-store.js';

/** A key or target the aliases table refuses, as the file would have ignored its line. */
export class InvalidAliasError extends Error {
  override readonly name = 'InvalidAliasError';
}

/** The alias key is not in the table. */
export class UnknownAliasError extends Error {
  override readonly name = 'UnknownAliasError';
  constructor(readonly key: string) {
    super(`no alias ${key}`);
  }
}

/**
 * Aliases in the store's database, for several nodes: the same entries as the aliases file
 * (see src/smtp/aliases.ts), changed with `postel alias` on any node and seen by every node
 * at its next RCPT. Each lookup costs one small query (the version row); the table is read
 * again only when a change moved that version.
 */
export class PostgresAliases implements AliasSource {
  private readonly sql: Sql;
  private version: string | undefined;
  private table: AliasTable = aliasTable(new Map());

  constructor(url: string) {
    this.sql = connectPostgres(url, { max: 2 });
  }

  async current(): Promise<AliasTable> {
    const [row] = await this.query(() => this.sql<{ version: string }[]>`SELECT version::text FROM aliases_version`);
    if (row === undefined) throw new StoreError('the aliases_version row is missing: run `postel db migrate`', false);
    if (row.version === this.version) return this.table;
    // Version and rows from one statement, so one snapshot: a change committed between two
    // queries cannot leave an old table cached under a new version.
    const rows = await this.query(() =>
      this.sql<{ version: string; key: string | null; targets: string[] | null }[]>`
        SELECT v.version::text, a.key, a.targets FROM aliases_version v LEFT JOIN aliases a ON true`,
    );
    const entries = new Map<string, readonly string[]>();
    for (const r of rows) if (r.key !== null && r.targets !== null) entries.set(r.key, r.targets);
    this.table = aliasTable(entries);
    this.version = rows[0]?.version;
    return this.table;
  }

  /** Sets the targets of `key` (added, or replacing what it had). */
  async set(key: string, targets: readonly string[]): Promise<void> {
    const k = checkedKey(key);
    if (targets.length === 0) throw new InvalidAliasError(`alias ${key}: no target`);
    for (const t of targets) if (!isAliasTarget(t)) throw new InvalidAliasError(`alias ${key}: malformed target ${JSON.stringify(t)}`);
    await this.query(() => this.sql`INSERT INTO aliases (key, targets) VALUES (${k}, ${[...targets]}) ON CONFLICT (key) DO UPDATE SET targets = EXCLUDED.targets`);
  }

  async remove(key: string): Promise<void> {
    const k = checkedKey(key);
    const rows = await this.query(() => this.sql`DELETE FROM aliases WHERE key = ${k} RETURNING 1`);
    if (rows.length === 0) throw new UnknownAliasError(k);
  }

  /** Copies the entries (of an aliases file) whose keys the table does not have yet; returns how many. */
  async importTable(table: AliasTable): Promise<number> {
    let added = 0;
    for (const [key, targets] of table.entries) {
      const rows = await this.query(() => this.sql`INSERT INTO aliases (key, targets) VALUES (${key}, ${[...targets]}) ON CONFLICT (key) DO NOTHING RETURNING 1`);
      added += rows.length;
    }
    return added;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  private async query<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw toStoreError(err, 'the aliases table could not be read or changed');
    }
  }
}

function checkedKey(key: string): string {
  if (!isAliasKey(key)) throw new InvalidAliasError(`malformed alias key ${JSON.stringify(key)}: use local@domain, @domain or a bare name`);
  return key.toLowerCase();
}
