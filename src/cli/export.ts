import { readdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { InvalidUserNameError, normalizeUserName } from '../auth/user-name.js';
import { createLogger } from '../log/logger.js';
import { dataPaths, openMaildirStore } from '../runtime.js';
import { MaildropLockedError } from '../store/errors.js';
import { CliError, EX_NOUSER, EX_TEMPFAIL, EX_USAGE } from './exit-codes.js';
import { loadFor, withCommonOptions, type CommonOptions } from './common.js';

export function registerExport(program: Command): void {
  const exporter = program.command('export').description('write files another mail server reads');
  withCommonOptions(exporter.command('dovecot-uidlist [name]'))
    .option('--all', "every maildrop under the data directory's mail/")
    .description("write a maildrop's dovecot-uidlist (with postel's UIDLs in P fields), so that Dovecot serving it shows the same UIDLs")
    .action((name: string | undefined, options: CommonOptions & { readonly all?: boolean }) => exportUidlists(name, options));
}

async function exportUidlists(name: string | undefined, options: CommonOptions & { readonly all?: boolean }): Promise<void> {
  if ((name === undefined) === (options.all !== true)) throw new CliError('give a user name or --all', EX_USAGE);
  const config = await loadFor(options);
  const root = dataPaths(config).mailRoot;
  let users: string[];
  if (name !== undefined) {
    try {
      users = [normalizeUserName(name)];
    } catch (err) {
      if (err instanceof InvalidUserNameError) throw new CliError(`invalid user name ${name}: ${err.message}`, EX_NOUSER);
      throw err;
    }
    // Exporting creates nothing: a maildrop that is not there is an error, not an empty export.
    if (!(await readdir(root).catch(() => [] as string[])).includes(users[0] as string)) {
      throw new CliError(`no maildrop for ${name} in ${root}`, EX_NOUSER);
    }
  } else {
    users = (await readdir(root, { withFileTypes: true }).catch(() => []))
      .filter((d) => d.isDirectory() && isUserName(d.name))
      .map((d) => d.name)
      .sort();
  }
  const store = openMaildirStore(config, createLogger({ level: 'warn', destination: process.stderr }));
  const busy: string[] = [];
  for (const user of users) {
    try {
      const result = await store.exportDovecotUidlist(user);
      process.stdout.write(`${user}: ${result.messages} messages -> ${result.path}\n`);
    } catch (err) {
      if (!(err instanceof MaildropLockedError)) throw err;
      busy.push(user);
      process.stderr.write(`postel: ${user}: the maildrop is in use by a POP3 session; not exported\n`);
    }
  }
  if (busy.length > 0) throw new CliError(`${busy.length} maildrop(s) in use; run the export again when their sessions have ended`, EX_TEMPFAIL);
}

function isUserName(name: string): boolean {
  try {
    return normalizeUserName(name) === name;
  } catch {
    return false;
  }
}
