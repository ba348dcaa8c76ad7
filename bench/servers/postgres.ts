import { join } from 'node:path';
import { silentLogger } from '../../src/log/logger.js';
import { importMaildirs } from '../../src/store/postgres/import-maildir.js';
import { MaildirStore } from '../../src/store/maildir/maildir-store.js';
import { migrate } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { PostgresUsers } from '../../src/store/postgres/users.js';
import { UsersFile } from '../../src/auth/users-file.js';
import { postelDataLayout } from './postel.js';
import { postgresUnavailable, startPostgres } from '../../test/support/postgres.js';

export interface BenchDatabase {
  readonly url: string;
  /** For the report. */
  readonly note: string;
  /** The postmaster: the root of the cluster's processes (backends are its children). */
  pid(): number;
  stop(): Promise<void>;
}

/**
 * bench --store postgres: a PostgreSQL 15 cluster of the tests' kind (fsync off, on loopback)
 * holding the run's mail and users, imported from the Maildirs and users file the run made with
 * `db import-maildir`'s and `db import-users`' code. The database runs outside postel's
 * process tree: its CPU (the postmaster's tree: backends, and the time of backends that
 * ended) is measured and reported on its own.
 */
export async function postgresForBench(dataDir: string, progress: (msg: string) => void): Promise<BenchDatabase> {
  const why = postgresUnavailable();
  if (why) throw new Error(`--store postgres: ${why}`);
  const cluster = await startPostgres();
  try {
    const url = await cluster.createDatabase('postel_bench');
    const store = new PostgresStore({ url, logger: silentLogger() });
    try {
      await migrate(store.sql);
      progress('importing the Maildirs into PostgreSQL');
      const source = new MaildirStore({ root: join(dataDir, 'mail'), logger: silentLogger(), snapshotCacheMessages: 0 });
      const counts = await importMaildirs(source, store, { logger: silentLogger(), concurrency: 4 });
      progress(`imported ${counts.imported} messages of ${counts.users} users`);
      // With a PostgreSQL store postel reads its users from the database, as `db import-users` puts them there.
      const users = new PostgresUsers(url);
      try {
        await users.importEntries(await new UsersFile(postelDataLayout(dataDir).usersFile).list());
      } finally {
        await users.close();
      }
    } finally {
      await store.close();
    }
    return {
      url,
      note: "store: PostgreSQL 15 on loopback (fsync off, as in the tests); its CPU is reported beside postel's (db)",
      pid: () => cluster.pid(),
      stop: () => cluster.stop(),
    };
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}
