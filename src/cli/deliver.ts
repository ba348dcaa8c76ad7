import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { InvalidUserNameError, normalizeUserName } from '../auth/user-name.js';
import { createLogger } from '../log/logger.js';
import { openStore, openUsers } from '../runtime.js';
import { StoreError } from '../store/errors.js';
import { CliError, EX_NOUSER, EX_TEMPFAIL } from './exit-codes.js';
import { loadFor, withCommonOptions, type CommonOptions } from './common.js';

export function registerDeliver(program: Command): void {
  withCommonOptions(program.command('deliver <name> [files...]'))
    .description('store RFC 5322 messages in a maildrop (stdin when no file), like dovecot-lda; exit 0 only when all are stored')
    .action((name: string, files: string[], options: CommonOptions) => deliver(name, files, options));
}

async function deliver(name: string, files: string[], options: CommonOptions): Promise<void> {
  const config = await loadFor(options);
  let user: string;
  try {
    user = normalizeUserName(name);
  } catch (err) {
    if (err instanceof InvalidUserNameError) throw new CliError(`unknown user ${name}: ${err.message}`, EX_NOUSER);
    throw err;
  }
  if (!(await openUsers(config).lookup(user))) throw new CliError(`unknown user ${name}`, EX_NOUSER);
  const store = openStore(config, createLogger({ level: 'warn', destination: process.stderr }));
  const inputs = files.length === 0 ? ['-'] : files;
  let failed = 0;
  for (const file of inputs) {
    const label = file === '-' ? 'stdin' : file;
    let input: Readable;
    try {
      // Opened here rather than by the store, so that a missing or unreadable input is
      // reported as such and never reaches the maildrop.
      input = file === '-' ? process.stdin : (await open(file, 'r')).createReadStream();
    } catch (err) {
      failed++;
      process.stderr.write(`postel: could not read ${label}: ${(err as Error).message}\n`);
      continue;
    }
    try {
      const result = await store.deliver(user, input);
      process.stderr.write(`postel: delivered ${label} to ${user} (${result.size} octets)\n`);
    } catch (err) {
      failed++;
      // Either way the MTA should retry or the admin look; nothing was left half-written
      // in the maildrop.
      const why = err instanceof StoreError ? err.message : (err as Error).message;
      process.stderr.write(`postel: could not deliver ${label} to ${user}: ${why}\n`);
    } finally {
      if (input !== process.stdin) input.destroy();
    }
  }
  if (failed > 0) throw new CliError(`${failed} of ${inputs.length} messages not delivered`, EX_TEMPFAIL);
}
