import type { Command } from 'commander';
import { InvalidUserNameError } from '../auth/user-name.js';
import { UnknownUserError, UserExistsError } from '../auth/users-file.js';
import { openUsers } from '../runtime.js';
import { CliError, EX_DATAERR, EX_NOUSER } from './exit-codes.js';
import { loadFor, withCommonOptions, type CommonOptions } from './common.js';
import { readNewPassword } from './password-input.js';

interface PasswordOptions extends CommonOptions {
  readonly passwordStdin?: boolean;
  readonly scheme?: 'SCRYPT' | 'PLAIN';
}

export function registerUser(program: Command): void {
  const user = program.command('user').description('manage the users file (DATA/users)');
  withCommonOptions(user.command('add <name>'))
    .description('add a user')
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--scheme <scheme>', 'SCRYPT (default) or PLAIN (plaintext-equivalent; needed for APOP)', parseScheme)
    .action((name: string, options: PasswordOptions) => changeUsers(options, async (users) => {
      await users.add(name, await readNewPassword(options.passwordStdin === true), schemeOption(options));
      process.stdout.write(`added ${name}\n`);
    }));
  withCommonOptions(user.command('passwd <name>'))
    .description("change a user's password")
    .option('--password-stdin', 'read the password from the first line of standard input')
    .option('--scheme <scheme>', 'SCRYPT (default) or PLAIN', parseScheme)
    .action((name: string, options: PasswordOptions) => changeUsers(options, async (users) => {
      await users.setPassword(name, await readNewPassword(options.passwordStdin === true), schemeOption(options));
      process.stdout.write(`password of ${name} changed\n`);
    }));
  withCommonOptions(user.command('del <name>'))
    .description('remove a user (the maildrop stays on disk)')
    .action((name: string, options: CommonOptions) => changeUsers(options, async (users) => {
      await users.remove(name);
      process.stdout.write(`removed ${name}\n`);
    }));
  withCommonOptions(user.command('list'))
    .description('list user names')
    .action((options: CommonOptions) => changeUsers(options, async (users) => {
      for (const entry of await users.list()) process.stdout.write(`${entry.name}\n`);
    }));
}

function parseScheme(value: string): 'SCRYPT' | 'PLAIN' {
  const upper = value.toUpperCase();
  if (upper !== 'SCRYPT' && upper !== 'PLAIN') throw new CliError(`unknown scheme ${value}: use SCRYPT or PLAIN`, EX_DATAERR);
  return upper;
}

function schemeOption(options: PasswordOptions): { scheme: 'SCRYPT' | 'PLAIN' } | undefined {
  return options.scheme ? { scheme: options.scheme } : undefined;
}

async function changeUsers(options: CommonOptions, work: (users: ReturnType<typeof openUsers>) => Promise<void>): Promise<void> {
  const users = openUsers(await loadFor(options));
  try {
    await work(users);
  } catch (err) {
    if (err instanceof InvalidUserNameError) throw new CliError(err.message, EX_DATAERR);
    if (err instanceof UserExistsError) throw new CliError(err.message, EX_DATAERR);
    if (err instanceof UnknownUserError) throw new CliError(err.message, EX_NOUSER);
    throw err;
  }
}
