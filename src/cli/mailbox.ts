import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidUserNameError, normalizeUserName } from '../auth/user-name.js';
import { createLogger } from '../log/logger.js';
import { decodeEncodedWords, headerValue, readHeaderBlock } from '../message/headers.js';
import { dataPaths, knownUser, openStore } from '../runtime.js';
import { MaildropLockedError } from '../store/errors.js';
import type { Maildrop } from '../store/types.js';
import { CliError, EX_NOUSER, EX_TEMPFAIL } from './exit-codes.js';
import { loadFor, requireDataDir, withCommonOptions, type CommonOptions } from './common.js';

export function registerMailbox(program: Command): void {
  const mailbox = program.command('mailbox').description("inspect or empty a user's maildrop");
  withCommonOptions(mailbox.command('list <name>'))
    .description('list messages: number, size, UIDL, subject')
    .action((name: string, options: CommonOptions) => withMaildrop(name, options, list));
  withCommonOptions(mailbox.command('purge <name>'))
    .description('delete every message (refused while a POP3 session holds the maildrop)')
    .action((name: string, options: CommonOptions) => withMaildrop(name, options, purge));
}

async function list(maildrop: Maildrop): Promise<void> {
  const out: string[] = [];
  for (const [i, message] of maildrop.messages.entries()) {
    const header = await readHeaderBlock(await maildrop.openMessage(i));
    const subject = decodeEncodedWords(headerValue(header, 'subject') ?? '').replace(/[\x00-\x1f\x7f]/g, ' ');
    out.push(`${String(i + 1).padStart(5)} ${String(message.size).padStart(10)}  ${message.uid}  ${subject}`);
  }
  process.stdout.write(out.length > 0 ? `${out.join('\n')}\n` : 'no messages\n');
  await maildrop.release();
}

async function purge(maildrop: Maildrop): Promise<void> {
  const all = new Set(maildrop.messages.map((_m, i) => i));
  await maildrop.commit({ deleted: all, retrieved: new Set() });
  process.stdout.write(`deleted ${all.size} message${all.size === 1 ? '' : 's'} of ${maildrop.user}\n`);
}

async function withMaildrop(name: string, options: CommonOptions, work: (maildrop: Maildrop) => Promise<void>): Promise<void> {
  const config = await loadFor(options);
  await requireDataDir(config);
  let user: string;
  try {
    user = normalizeUserName(name);
  } catch (err) {
    if (err instanceof InvalidUserNameError) throw new CliError(`invalid user name ${name}: ${err.message}`, EX_NOUSER);
    throw err;
  }
  // Opening a maildrop creates its directories: a typo must not leave a maildrop behind.
  // A removed user's maildrop stays on disk (`user del`), and can still be listed or purged.
  if (!(await knownUser(config, user)) && !(await isDirectory(join(dataPaths(config).mailRoot, user)))) {
    throw new CliError(`unknown user ${name}: not in the users file and no maildrop`, EX_NOUSER);
  }
  const store = openStore(config, createLogger({ level: 'warn', destination: process.stderr }));
  try {
    let maildrop: Maildrop;
    try {
      maildrop = await store.openMaildrop(user);
    } catch (err) {
      if (err instanceof MaildropLockedError) throw new CliError(`the maildrop of ${user} is in use by a POP3 session; try again when it has ended`, EX_TEMPFAIL);
      throw err;
    }
    try {
      await work(maildrop);
    } finally {
      await maildrop.release();
    }
  } finally {
    await store.close();
  }
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}
