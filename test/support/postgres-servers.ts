import assert from 'node:assert/strict';
import { after } from 'node:test';
import postgres from 'postgres';
import { migrate } from '../../src/store/postgres/migrations.js';
import { postgresUnavailable, startPostgres } from './postgres.js';
import { useStoreDatabases } from './server-process.js';

/*
 * Runs a test file's server processes on PostgreSQL: every data directory it makes with
 * tempDataDir gets a fresh, migrated database of a cluster started here, so `postel deliver`
 * and `postel serve` use it. Used by the interop-postgres-*.test.ts files, which import a
 * real-client suite (curl, poplib, fetchmail, mpop) once more after calling this.
 * Returns why it cannot (the caller then registers a skipped test), or undefined.
 */
export async function serveFromPostgres(): Promise<string | undefined> {
  const skip = postgresUnavailable();
  if (skip !== undefined) return skip;
  const cluster = await startPostgres();
  const urls: string[] = [];
  after(async () => {
    try {
      // The suite really ran on PostgreSQL: its deliveries, or at least its logins (each takes
      // a lease token), are in the databases.
      let rows = 0;
      for (const url of urls) {
        const sql = postgres(url, { onnotice: () => undefined, max: 1 });
        const [row] = await sql<{ n: number }[]>`SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM maildrops) + (SELECT CASE WHEN is_called THEN 1 ELSE 0 END FROM lease_tokens) AS n`;
        rows += Number(row?.n ?? 0);
        await sql.end();
      }
      assert.ok(urls.length > 0 && rows > 0, `databases ${urls.length}, rows ${rows}`);
    } finally {
      await cluster.stop();
    }
  });
  useStoreDatabases(async () => {
    const url = await cluster.createDatabase();
    urls.push(url);
    const sql = postgres(url, { onnotice: () => undefined, max: 1 });
    try {
      await migrate(sql);
    } finally {
      await sql.end();
    }
    return url;
  });
  return undefined;
}
