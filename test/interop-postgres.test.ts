import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { migrate } from '../src/store/postgres/migrations.js';
import { postgresUnavailable, startPostgres } from './support/postgres.js';
import { useStoreDatabases } from './support/server-process.js';

/*
 * The real-client interop suites (curl, Python's poplib, fetchmail, mpop) once more, against
 * servers whose mail is in PostgreSQL: every data directory they make gets a fresh, migrated
 * database of a cluster started here, so `postel deliver` and `postel serve` use it.
 */

const skip = postgresUnavailable();
if (skip !== undefined) {
  test('real clients against a PostgreSQL-backed postel', { skip }, () => undefined);
} else {
  const cluster = await startPostgres();
  const urls: string[] = [];
  after(async () => {
    try {
      // The suites really ran on PostgreSQL: their deliveries are in the databases.
      let delivered = 0;
      for (const url of urls) {
        const sql = postgres(url, { onnotice: () => undefined, max: 1 });
        const [row] = await sql<{ n: number }[]>`SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM maildrops) AS n`;
        delivered += Number(row?.n ?? 0);
        await sql.end();
      }
      assert.ok(urls.length >= 4 && delivered > 0, `databases ${urls.length}, rows ${delivered}`);
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
  await import('./interop-curl.test.js');
  await import('./interop-poplib.test.js');
  await import('./interop-tls.test.js');
  await import('./interop-sasl.test.js');
}
