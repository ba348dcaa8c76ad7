import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AccountSettings } from '../../src/client/index.js';
import { startDovecot, type Dovecot } from './dovecot.js';
import { startPop3TestServer, type TestServer } from './test-server.js';
import { waitFor } from './wait-for.js';

/*
 * The same mailbox operations over two real servers, postel's own and Dovecot, so that
 * the fetch scenarios (test/support/client-scenarios.ts) run unchanged against both.
 * Each scenario gets a fresh user, so scenarios never see each other's mail.
 */

export interface Mailbox {
  readonly user: string;
  readonly password: string;
  /** How to reach the server for this mailbox (for AccountSettings). */
  readonly connection: Pick<AccountSettings, 'host' | 'port' | 'tls' | 'allowPlaintext' | 'tlsOptions'>;
  /** Stores a message (LF line ends) as the server's own delivery would. */
  deliver(message: string | Buffer): Promise<void>;
  /** Messages in the server's maildrop now. */
  count(): Promise<number>;
  /**
   * RETR and TOP commands the server answered for this user, counted from its logs once
   * `sessions` sessions have ended (logs are written when a session closes).
   */
  served(sessions: number): Promise<{ retr: number; top: number }>;
}

export interface MailServerFixture {
  readonly name: string;
  newMailbox(): Promise<Mailbox>;
  stop(): Promise<void>;
}

let serial = 0;
const DOVECOT_USERS = 40;
const nextUser = (): string => `user${++serial}`;

/** postel's server, in this process, over plain TCP (its TLS is being added separately). */
export async function postelFixture(): Promise<MailServerFixture & { readonly server: TestServer }> {
  const server = await startPop3TestServer({ users: {} });
  return {
    name: 'postel',
    server,
    async newMailbox() {
      const user = nextUser();
      const password = `pw-${user}`;
      await server.users.add(user, password, { cost: { ln: 4 } });
      return {
        user,
        password,
        connection: { host: '127.0.0.1', port: server.port, tls: 'none', allowPlaintext: true, tlsOptions: {} },
        deliver: (message) => server.deliver(user, typeof message === 'string' ? Buffer.from(message, 'utf8') : message),
        count: () => countFiles(join(server.dataDir, 'mail', user)),
        async served(sessions) {
          const ends = await waitFor(() => {
            const mine = server.logs.filter((l) => l['event'] === 'session_end' && l['user'] === user);
            return mine.length >= sessions ? mine : undefined;
          }, `${sessions} ended sessions of ${user} in postel's log`);
          return { retr: ends.reduce((s, l) => s + Number(l['retr']), 0), top: ends.reduce((s, l) => s + Number(l['top']), 0) };
        },
      };
    },
    stop: () => server.stop(),
  };
}

/** A real Dovecot over implicit TLS, verified against its own certificate. */
export async function dovecotFixture(): Promise<MailServerFixture & { readonly dovecot: Dovecot }> {
  // Users are made up front: Dovecot notices passwd-file changes only once a second.
  const pool = Array.from({ length: DOVECOT_USERS }, () => nextUser());
  const dovecot = await startDovecot({ users: Object.fromEntries(pool.map((u) => [u, `pw-${u}`])) });
  return {
    name: 'dovecot',
    dovecot,
    async newMailbox() {
      const user = pool.shift();
      if (user === undefined) throw new Error(`the Dovecot fixture has only ${DOVECOT_USERS} users; raise DOVECOT_USERS`);
      const password = `pw-${user}`;
      return {
        user,
        password,
        connection: { host: '127.0.0.1', port: dovecot.pop3sPort, tls: 'tls', allowPlaintext: false, tlsOptions: { ca: dovecot.certificate } },
        deliver: async (message) => {
          await dovecot.deliver(user, message);
        },
        count: () => countFiles(dovecot.maildir(user)),
        async served(sessions) {
          const ends = await waitFor(async () => {
            const mine = (await dovecot.sessions()).filter((s) => s.user === user);
            return mine.length >= sessions ? mine : undefined;
          }, `${sessions} ended sessions of ${user} in Dovecot's log`);
          return { retr: ends.reduce((s, e) => s + e.retr, 0), top: ends.reduce((s, e) => s + e.top, 0) };
        },
      };
    },
    stop: () => dovecot.stop(),
  };
}

async function countFiles(maildir: string): Promise<number> {
  let n = 0;
  for (const sub of ['new', 'cur']) n += (await readdir(join(maildir, sub)).catch(() => [])).length;
  return n;
}
