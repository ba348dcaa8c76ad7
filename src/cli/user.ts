import { InvalidArgumentError, type Command } from 'commander';
import { InvalidUserNameError, isAscii, normalizeUserName } from '../auth/user-name.js';
import { UnknownUserError, UnstorablePasswordError, UserExistsError, UsersFileLockError, type PasswordOptions as UsersPasswordOptions } from '../auth/users-file.js';
import type { Config } from '../config/schema.js';
import { newPasswordOptions, openUsers } from '../runtime.js';
import { CliError, EX_DATAERR, EX_NOUSER, EX_TEMPFAIL, EX_USAGE } from './exit-codes.js';
import { ensureDataDir, loadFor, requireDataDir, withCommonOptions, type CommonOptions } from './common.js';
import { readNewPassword } from './password-input.js';

interface PasswordOptions extends CommonOptions {
  readonly passwordStdin?: boolean;
  readonly scheme?: 'SCRYPT' | 'PLAIN';
  /** commander's --no-scram: false when given, true otherwise. */
  readonly scram: boolean;
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('manage the users (DATA/users, or the users table with a PostgreSQL store)');
  withCommonOptions(user.command('add <name>'))
    .description('add a user')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--scheme <scheme>', 'SCRYPT (default) or PLAIN (plaintext-equivalent; needed for APOP and CRAM-MD5)', parseScheme)
    .option('--no-scram', 'do not store SCRAM-SHA-256 keys (stored by default when a SCRAM mechanism is enabled)')
    .action((name: string, options: PasswordOptions) => changeUsers(options, async (users, config) => {
      await users.add(name, await readNewPassword(options.passwordStdin === true), passwordOptions(options, config));
      const stored = normalizeUserName(name);
      process.stdout.write(`added ${stored}\n`);
      // RFC 6856: USER takes such a name only after UTF8; SASL mechanisms take it always.
      if (!isAscii(stored)) process.stdout.write('note: POP3 clients must send UTF8 before USER with this name (or log in with SASL)\n');
    }));
  withCommonOptions(user.command('passwd <name>'))
    .description("change a user's password")
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--scheme <scheme>', 'SCRYPT (default) or PLAIN', parseScheme)
    .option('--no-scram', 'do not store SCRAM-SHA-256 keys')
    .action((name: string, options: PasswordOptions) => changeUsers(options, async (users, config) => {
      await users.setPassword(name, await readNewPassword(options.passwordStdin === true), passwordOptions(options, config));
      process.stdout.write(`password of ${name} changed\n`);
    }));
  withCommonOptions(user.command('del <name>'))
    .description('remove a user (the maildrop stays on disk)')
    .action((name: string, options: CommonOptions) => changeUsers(options, async (users) => {
      await users.remove(name);
      process.stdout.write(`removed ${name}\n`);
    }));
  withCommonOptions(user.command('quota <name> <size>'))
    .description('set a storage quota: bytes, or with a unit (100M, 2G); 0 or none: no limit')
    .action((name: string, size: string, options: CommonOptions) => changeUsers(options, async (users) => {
      const bytes = parseQuota(size);
      await users.setQuota(name, bytes);
      process.stdout.write(bytes === null ? `no quota for ${name}\n` : `quota of ${name}: ${bytes} bytes\n`);
    }));
  withCommonOptions(user.command('list'))
    .description('list user names')
    .action((options: CommonOptions) => changeUsers(options, async (users) => {
      for (const entry of await users.list()) process.stdout.write(`${entry.name}\n`);
    }, { readOnly: true }));
}

const QUOTA_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

function parseQuota(value: string): number | null {
  if (value.toLowerCase() === 'none') return null;
  const m = /^(\d{1,15})([bkmgt]?)$/i.exec(value);
  const unit = m ? QUOTA_UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new CliError(`invalid quota ${value}: use bytes, 100M, 2G or none`, EX_USAGE);
  const bytes = Number(m[1]) * unit;
  return bytes === 0 ? null : bytes;
}

function parseScheme(value: string): 'SCRYPT' | 'PLAIN' {
  const upper = value.toUpperCase();
  // A bad option value is a usage error (64), reported by commander like --pop3-port x.
  if (upper !== 'SCRYPT' && upper !== 'PLAIN') throw new InvalidArgumentError(`unknown scheme ${value}: use SCRYPT or PLAIN`);
  return upper;
}

function passwordOptions(options: PasswordOptions, config: Config): UsersPasswordOptions {
  return newPasswordOptions(config, { ...(options.scheme ? { scheme: options.scheme } : {}), scram: options.scram });
}

async function changeUsers(
  options: CommonOptions,
  work: (users: ReturnType<typeof openUsers>, config: Config) => Promise<void>,
  { readOnly = false } = {},
): Promise<void> {
  const config = await loadFor(options);
  // The first `user add` on a fresh data directory must be able to create DATA/users (and
  // its lock file) there; `serve` makes the same directory with the same mode.
  if (readOnly) await requireDataDir(config);
  else await ensureDataDir(config);
  const users = openUsers(config);
  try {
    await work(users, config);
  } catch (err) {
    if (err instanceof InvalidUserNameError) throw new CliError(err.message, EX_DATAERR);
    if (err instanceof UserExistsError) throw new CliError(err.message, EX_DATAERR);
    if (err instanceof UnknownUserError) throw new CliError(err.message, EX_NOUSER);
    if (err instanceof UnstorablePasswordError) throw new CliError(err.message, EX_DATAERR);
    if (err instanceof UsersFileLockError) throw new CliError(err.message, EX_TEMPFAIL);
    throw err;
  } finally {
    await users.close();
  }
}
