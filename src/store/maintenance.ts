import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { collectGarbage } from './postgres/blobs.js';
import { migrate, SCHEMA_VERSION } from './postgres/migrations.js';
import { connectPostgres, PostgresStore } from './postgres/postgres-store.js';
import type { MailStore } from './types.js';

/** Unreferenced bodies are removed this often by every node (it is safe to run anywhere, any time). */
const GC_INTERVAL_MS = 60 * 60 * 1000;

/** [store] migrate = true: bring the schema up to date before serving. */
export async function migrateStore(config: Config, logger: Logger): Promise<void> {
  const sql = connectPostgres(config.store.url, { max: 1, logger });
  try {
    const applied = await migrate(sql);
    logger.info({ event: 'schema', applied, version: SCHEMA_VERSION }, applied.length > 0 ? 'database schema migrated' : 'database schema current');
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Starts hourly garbage collection of message bodies for a PostgreSQL store; returns a stop function. */
export function collectGarbageEvery(store: MailStore, logger: Logger): () => void {
  if (!(store instanceof PostgresStore)) return () => undefined;
  const timer = setInterval(() => {
    collectGarbage(store.sql).then(
      (removed) => logger.info({ event: 'store_gc', ...removed }, 'unreferenced message bodies removed'),
      (err: unknown) => logger.warn({ err }, 'message body garbage collection failed'),
    );
  }, GC_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}
