import { open, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Command } from 'commander';
import { InvalidUserNameError, normalizeUserName } from '../auth/user-name.js';
import { errnoCode } from '../fs/errno.js';
import { createLogger } from '../log/logger.js';
import { dataPaths, knownUser, openStore } from '../runtime.js';
import { StoreError } from '../store/errors.js';
import { CliError, EX_DATAERR, EX_NOINPUT, EX_NOUSER, EX_TEMPFAIL } from './exit-codes.js';
import { environmentError } from './environment-errors.js';
import { loadFor, requireDataDir, withCommonOptions, type CommonOptions } from './common.js';

export function registerDeliver(program: Command): void {
  withCommonOptions(program.command('deliver <name> [files...]'))
    .description('store RFC 5322 messages in a maildrop (stdin when no file), like dovecot-lda; exit 0 only when all are stored')
    .action((name: string, files: string[], options: CommonOptions) => deliver(name, files, options));
}

/**
 * Exit codes are for the MTA that runs us (Postfix's pipe(8), procmail): only bad input is
 * final (65 an invalid name or an empty message, 66 a missing input, 67 a valid name nobody
 * has); every storage or environment problem is 75, so the MTA keeps the mail and retries.
 */
async function deliver(name: string, files: string[], options: CommonOptions): Promise<void> {
  let user: string;
  try {
    user = normalizeUserName(name);
  } catch (err) {
    if (err instanceof InvalidUserNameError) throw new CliError(`invalid user name ${JSON.stringify(name)}: ${err.message}`, EX_DATAERR);
    throw err;
  }
  try {
    const config = await loadFor(options);
    await requireDataDir(config, EX_TEMPFAIL);
    if (!(await knownUser(config, user))) throw new CliError(`unknown user ${name} (${config.store.url === '' ? `users file ${dataPaths(config).usersFile}` : 'users table'})`, EX_NOUSER);
    const store = openStore(config, createLogger({ level: 'warn', destination: process.stderr }));
    try {
      await deliverAll(user, files, store);
    } finally {
      await store.close();
    }
  } catch (err) {
    if (err instanceof CliError) throw err;
    const environment = environmentError(err);
    throw new CliError(environment?.message ?? (err as Error).message, EX_TEMPFAIL);
  }
}

async function deliverAll(user: string, files: string[], store: ReturnType<typeof openStore>): Promise<void> {
  const inputs = files.length === 0 ? ['-'] : files;
  let temporary = 0;
  let missing = 0;
  let empty = 0;
  for (const file of inputs) {
    const label = file === '-' ? 'stdin' : file;
    let input: Readable | null;
    try {
      // Opened here rather than by the store, so that a missing or unreadable input is
      // reported as such and never reaches the maildrop.
      input = file === '-' ? await nonEmpty(process.stdin) : (await stat(file)).size === 0 ? null : (await open(file, 'r')).createReadStream();
    } catch (err) {
      missing++;
      process.stderr.write(`postel: could not read ${label}: ${errnoCode(err) === 'ENOENT' ? 'no such file' : (err as Error).message}\n`);
      continue;
    }
    if (input === null) {
      empty++;
      process.stderr.write(`postel: ${label} is empty (0 octets); not delivered\n`);
      continue;
    }
    try {
      const result = await store.deliver(user, input);
      process.stderr.write(`postel: delivered ${label} to ${user} (${result.size} octets)\n`);
    } catch (err) {
      temporary++;
      // Nothing was left half-written in the maildrop; the MTA should retry.
      const why = environmentError(err)?.message ?? (err instanceof StoreError ? err.message : (err as Error).message);
      process.stderr.write(`postel: could not deliver ${label} to ${user}: ${why}\n`);
    } finally {
      if (input !== process.stdin) input.destroy();
    }
  }
  const failed = temporary + missing + empty;
  if (failed === 0) return;
  const summary = `${failed} of ${inputs.length} message${inputs.length === 1 ? '' : 's'} not delivered`;
  if (temporary > 0) throw new CliError(summary, EX_TEMPFAIL);
  throw new CliError(summary, missing > 0 ? EX_NOINPUT : EX_DATAERR);
}

/** The stream, or null when it ends without a byte (an empty message is refused). */
async function nonEmpty(stream: Readable): Promise<Readable | null> {
  const iterator = stream[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done === true) return null;
  async function* rest(): AsyncGenerator<Buffer> {
    yield first.value as Buffer;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value as Buffer;
  }
  return Readable.from(rest(), { objectMode: false });
}
