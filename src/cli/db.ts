import type { Command } from 'commander';
import { createLogger } from '../log/logger.js';
import { connectPostgres, PostgresStore } from '../store/postgres/postgres-store.js';
import { importMaildirs } from '../store/postgres/import-maildir.js';
import { MaildropLockedError } from '../store/errors.js';
import { dataPaths, openMaildirStore, smtpSettings } from '../runtime.js';
import { readFileIfExists } from '../fs/read-if-exists.js';
import { parseAliases } from '../smtp/aliases.js';
import { PostgresAliases } from '../store/postgres/aliases.js';
import { PostgresUsers } from '../store/postgres/users.js';
import { UsersFile } from '../auth/users-file.js';
import { migrate, SCHEMA_VERSION } from '../store/postgres/migrations.js';
import { collectGarbage } from '../store/postgres/blobs.js';
import { loadFor, STORE_URL_VARIABLE, withCommonOptions, type CommonOptions } from './common.js';
import { CliError, EX_CONFIG, EX_TEMPFAIL } from './exit-codes.js';
import type { Sql } from 'postgres';

export function registerDb(program: Command): void {
  const db = program.command('db').description('the PostgreSQL store ([store] url or POSTEL_STORE_URL)');
  withCommonOptions(db.command('migrate'))
    .description('create the schema or bring it to this version of postel (each step in one transaction)')
    .action((options: CommonOptions) => withDatabase(options, async (sql) => {
      const applied = await migrate(sql);
      process.stderr.write(applied.length === 0 ? `postel: schema already at version ${SCHEMA_VERSION}\n` : `postel: applied migrations ${applied.join(', ')}; schema at version ${SCHEMA_VERSION}\n`);
    }));
  withCommonOptions(db.command('import-maildir'))
    .description('copy the Maildirs of the data directory into the database, keeping UIDLs, sizes and seen state (resumable)')
    .option('--user <name>', 'only this user (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (options: CommonOptions & { user?: string[] }) => {
      const config = await loadFor(options);
      if (config.store.url === '') throw new CliError(`no database: set [store] url or ${STORE_URL_VARIABLE}`, EX_CONFIG);
      const logger = createLogger({ level: 'warn', destination: process.stderr });
      const store = new PostgresStore({ url: config.store.url, logger });
      try {
        // The Maildir store as serve would open it, so UIDLs inherited from Dovecot or Courier travel along.
        const counts = await importMaildirs(openMaildirStore(config, logger), store, {
          ...(options.user ? { users: options.user } : {}),
          logger,
          progress: (user, c) => process.stderr.write(`postel: ${user}: ${c.imported} imported, ${c.skipped} already there\n`),
        });
        process.stderr.write(`postel: ${counts.users} maildrops, ${counts.imported} messages imported, ${counts.skipped} already there\n`);
      } catch (err) {
        if (err instanceof MaildropLockedError) throw new CliError(`the maildrop of ${err.user} is in use by a POP3 session; run again when it has ended`, EX_TEMPFAIL);
        throw err;
      } finally {
        await store.close();
      }
    });
  withCommonOptions(db.command('import-users'))
    .description('copy the users file and the aliases file of the data directory into their tables (entries already there are kept as they are)')
    .action(async (options: CommonOptions) => {
      const config = await loadFor(options);
      if (config.store.url === '') throw new CliError(`no database: set [store] url or ${STORE_URL_VARIABLE}`, EX_CONFIG);
      const users = new PostgresUsers(config.store.url);
      const aliases = new PostgresAliases(config.store.url);
      try {
        const entries = await new UsersFile(dataPaths(config).usersFile).list();
        const added = await users.importEntries(entries);
        process.stderr.write(`postel: ${added} users imported, ${entries.length - added} already there\n`);
        const file = smtpSettings(config).aliasesFile;
        const { table, problems } = parseAliases((await readFileIfExists(file, 'utf8')) ?? '');
        for (const p of problems) process.stderr.write(`postel: ${file} line ${p.line}: ${p.problem}; not imported\n`);
        const aliased = await aliases.importTable(table);
        process.stderr.write(`postel: ${aliased} aliases imported, ${table.entries.size - aliased} already there\n`);
      } finally {
        await Promise.all([users.close(), aliases.close()]);
      }
    });
  withCommonOptions(db.command('gc'))
    .description('remove message bodies no maildrop refers to any more (safe while mail is delivered)')
    .action((options: CommonOptions) => withDatabase(options, async (sql) => {
      const removed = await collectGarbage(sql);
      process.stderr.write(`postel: removed ${removed.blobs} bodies and ${removed.chunks} chunks\n`);
    }));
}

async function withDatabase(options: CommonOptions, work: (sql: Sql) => Promise<void>): Promise<void> {
  const config = await loadFor(options);
  if (config.store.url === '') throw new CliError(`no database: set [store] url or ${STORE_URL_VARIABLE}`, EX_CONFIG);
  const sql = connectPostgres(config.store.url, { max: 1, logger: createLogger({ level: 'warn', destination: process.stderr }) });
  try {
    await work(sql);
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`database: ${(err as Error).message}`, EX_TEMPFAIL);
  } finally {
    await sql.end({ timeout: 5 });
  }
}
