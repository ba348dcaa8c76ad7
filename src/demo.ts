import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PasswordOptions } from './auth/users-file.js';
import type { Users } from './auth/users.js';
import type { MailStore } from './store/types.js';

export interface DemoAccount {
  readonly user: string;
  /** Null when the password was changed by hand and postel no longer knows it. */
  readonly password: string | null;
  readonly created: boolean;
}

const DEMO_USER = 'demo';

/**
 * The embedded default's demo account: created once with a random password (kept in
 * DATA/demo-password so later starts can print it) and one welcome message. Later starts
 * reuse it and deliver nothing, so the maildrop never fills with duplicates.
 */
export async function ensureDemoAccount(
  dataDir: string,
  users: Users,
  store: MailStore,
  hostname: string,
  passwordOptions: PasswordOptions = {},
): Promise<DemoAccount> {
  const passwordFile = join(dataDir, 'demo-password');
  if (await users.lookup(DEMO_USER)) {
    const password = await readFile(passwordFile, 'utf8').then((t) => t.trim(), () => null);
    return { user: DEMO_USER, password, created: false };
  }
  const password = randomBytes(12).toString('base64url');
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  await users.add(DEMO_USER, password, passwordOptions);
  await store.deliver(DEMO_USER, Buffer.from(welcomeMessage(hostname)));
  return { user: DEMO_USER, password, created: true };
}

function welcomeMessage(hostname: string): string {
  return [
    `Return-Path: <postmaster@${hostname}>`,
    `From: postel <postmaster@${hostname}>`,
    `To: demo <demo@${hostname}>`,
    'Subject: Welcome to postel',
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <welcome.${randomBytes(6).toString('hex')}@${hostname}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello, and welcome to postel.',
    '',
    'This message sits in the demo maildrop under data/mail/demo/. Read it with any',
    'POP3 client; delete it with DELE and QUIT. Add users with `postel user add NAME`',
    'and deliver mail to them with `postel deliver NAME < message.eml`.',
    '',
  ].join('\n');
}
