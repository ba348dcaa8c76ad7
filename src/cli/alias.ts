import type { Command } from 'commander';
import { AliasesFile, formatAliases, type AliasSource } from '../smtp/aliases.js';
import { InvalidAliasError, PostgresAliases, UnknownAliasError } from '../store/postgres/aliases.js';
import { smtpSettings } from '../runtime.js';
import { CliError, EX_DATAERR, EX_NOUSER, EX_USAGE } from './exit-codes.js';
import { loadFor, withCommonOptions, type CommonOptions } from './common.js';

/*
 * With a PostgreSQL store the aliases are a table every node reads, changed here. Without
 * one they are the aliases file, edited by hand (its comments and layout are the operator's);
 * `alias list` prints either in the file's format.
 */
export function registerAlias(program: Command): void {
  const alias = program.command('alias').description('SMTP aliases: the aliases table with a PostgreSQL store (the aliases file is edited by hand)');
  withCommonOptions(alias.command('set <key> <targets...>'))
    .description('make KEY (local@domain, @domain or a bare name) deliver to the targets (user names or addresses), replacing what it had')
    .action((key: string, targets: string[], options: CommonOptions) =>
      withTable(options, async (table) => {
        // `postel alias set info alice, bob` splits the way the file's line would.
        await table.set(key, targets.flatMap((t) => t.split(',')).filter((t) => t !== ''));
        process.stdout.write(`alias ${key.toLowerCase()} set\n`);
      }),
    );
  withCommonOptions(alias.command('del <key>'))
    .description('remove an alias')
    .action((key: string, options: CommonOptions) =>
      withTable(options, async (table) => {
        await table.remove(key);
        process.stdout.write(`removed alias ${key.toLowerCase()}\n`);
      }),
    );
  withCommonOptions(alias.command('list'))
    .description('print the aliases in the aliases file format')
    .action(async (options: CommonOptions) => {
      const config = await loadFor(options);
      const source: AliasSource = config.store.url === '' ? new AliasesFile(smtpSettings(config).aliasesFile) : new PostgresAliases(config.store.url);
      try {
        process.stdout.write(formatAliases(await source.current()));
      } finally {
        await source.close?.();
      }
    });
}

async function withTable(options: CommonOptions, work: (table: PostgresAliases) => Promise<void>): Promise<void> {
  const config = await loadFor(options);
  if (config.store.url === '') {
    throw new CliError(`without a PostgreSQL store the aliases are the file ${smtpSettings(config).aliasesFile}: edit it (it is read again at the next RCPT)`, EX_USAGE);
  }
  const table = new PostgresAliases(config.store.url);
  try {
    await work(table);
  } catch (err) {
    if (err instanceof InvalidAliasError) throw new CliError(err.message, EX_DATAERR);
    if (err instanceof UnknownAliasError) throw new CliError(err.message, EX_NOUSER);
    throw err;
  } finally {
    await table.close();
  }
}
