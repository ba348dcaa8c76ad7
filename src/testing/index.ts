import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Chaos } from '../chaos/chaos.js';
import { parseConfig } from '../config/load.js';
import type { ParsedMessage } from '../http/mailboxes.js';
import { firstCode, firstLink, waitForMessage as waitFor } from '../http/wait.js';
import { createLogger, silentLogger } from '../log/logger.js';
import { startServices, type Services } from '../services.js';
import { UserExistsError } from '../auth/errors.js';

/**
 * postel/testing: a whole postel (POP3, SMTP, LMTP, submission, HTTP API) in this process,
 * on free loopback ports, over a temporary data directory that close() removes.
 *
 *   const mail = await startTestServer({ users: { bob: 'secret' } });
 *   // ... the code under test sends to bob@postel.test via mail.smtp ...
 *   const { message, link } = await mail.waitForMessage('to:bob subject:Welcome');
 *   await mail.close();
 */
export interface TestServerOptions {
  /** Users to create, name -> password. */
  readonly users?: Readonly<Record<string, string>>;
  /** Domains whose mail is stored here; `postel.test` and `localhost` by default. */
  readonly domains?: readonly string[];
  /** Extra configuration (the TOML keys, as an object), applied over the test defaults. */
  readonly config?: Readonly<Record<string, unknown>>;
  /** pino level for the server's JSON log on stdout; silent by default. */
  readonly logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface TestMessage {
  readonly user: string;
  readonly message: ParsedMessage;
  /** The first http(s) link in the message, if any. */
  readonly link: string | null;
  /** The first 4-8 digit code in the subject or body, if any. */
  readonly code: string | null;
}

export interface TestServer {
  /** Plain POP3 (STLS offered); `tlsPort` is implicit TLS; trust `ca` for either. */
  readonly pop3: Endpoint & { readonly tlsPort: number; readonly ca: string };
  readonly smtp: Endpoint;
  readonly lmtp: Endpoint;
  readonly submission: Endpoint;
  /** The HTTP API: `url` and the admin `token` (Authorization: Bearer). */
  readonly http: { readonly url: string; readonly token: string };
  /** The domain test addresses use: user@domain. */
  readonly domain: string;
  /** Users created so far, name -> password. */
  readonly users: ReadonlyMap<string, string>;
  readonly dataDir: string;
  /** Adds a user; with a PostgreSQL store whose users table has it already, sets its password. */
  addUser(name: string, password?: string): Promise<{ name: string; password: string; address: string }>;
  /** Stores a message straight into a user's maildrop (no SMTP). */
  deliver(user: string, message: string | Uint8Array): Promise<void>;
  /** The user's messages, parsed, newest first. */
  messages(user: string): Promise<ParsedMessage[]>;
  /**
   * Resolves with the newest message matching `query` (Mailpit-style: `to:bob subject:"Reset"
   * has:attachment`, or free text) in any mailbox, waiting for it up to `timeoutMs`.
   */
  waitForMessage(query: string, timeoutMs?: number): Promise<TestMessage>;
  /**
   * Faults on demand (on in tests): `chaos.set({ pop3Errors: [{ command: 'RETR', code: 'SYS/TEMP',
   * user: null, probability: 1, remaining: 1 }], retrDrop: null, trickle: null, smtp: [] })`,
   * `chaos.clear()`; the same as PUT /api/v1/chaos.
   */
  readonly chaos: Chaos;
  /** The running services, for what the shortcuts above do not cover. */
  readonly services: Services;
  close(): Promise<void>;
}

export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'postel-testing-'));
  const domains = options.domains ?? ['postel.test', 'localhost'];
  const domain = domains[0] ?? 'postel.test';
  const config = parseConfig(
    merge(
      {
        data_dir: dataDir,
        hostname: domain,
        log: { level: options.logLevel ?? 'silent' },
        pop3: { port: 0 },
        pop3s: { port: 0 },
        // Failed logins in tests are answered at once; the budgets still count them.
        auth: { failure_response_ms: 0, max_user_delay: 0 },
        sasl: { scram_iterations: 4096 },
        smtp: { port: 0, local_domains: [...domains], lmtp: { port: 0 }, submission: { port: 0 } },
        http: { port: 0 },
        chaos: { enabled: true },
      },
      options.config ?? {},
    ),
    'startTestServer options',
  );
  const logger = config.log.level === 'silent' ? silentLogger() : createLogger({ level: config.log.level });
  let services: Services;
  try {
    services = await startServices(config, { logger });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const http = services.http;
  if (!http) throw new Error('startTestServer needs the HTTP API ([http] enabled)');
  const users = new Map<string, string>();
  const addUser = async (name: string, password = `pw-${Math.random().toString(36).slice(2, 12)}`): Promise<{ name: string; password: string; address: string }> => {
    const options = { cost: { ln: 4 }, scram: { iterations: 4096 } } as const;
    try {
      await services.users.add(name, password, options);
    } catch (err) {
      // Servers on one PostgreSQL store share the users table: the second one finds the user.
      if (!(err instanceof UserExistsError) || config.store.url === '') throw err;
      await services.users.setPassword(name, password, options);
    }
    users.set(name, password);
    return { name, password, address: name.includes('@') ? name : `${name}@${domain}` };
  };
  for (const [name, password] of Object.entries(options.users ?? {})) await addUser(name, password);

  const endpoint = (kind: 'smtp' | 'lmtp' | 'submission'): Endpoint => {
    const l = services.smtpListeners.find((x) => x.kind === kind && !x.implicitTls);
    return { host: '127.0.0.1', port: l?.port ?? 0 };
  };
  const pop3Plain = services.pop3Listeners.find((l) => !l.implicitTls);
  const pop3Tls = services.pop3Listeners.find((l) => l.implicitTls);
  const ca = await readFile(join(dataDir, 'tls', 'self-signed-cert.pem'), 'utf8').catch(() => '');
  let closed = false;
  return {
    pop3: { host: '127.0.0.1', port: pop3Plain?.address.port ?? 0, tlsPort: pop3Tls?.address.port ?? 0, ca },
    smtp: endpoint('smtp'),
    lmtp: endpoint('lmtp'),
    submission: endpoint('submission'),
    http: { url: http.url, token: http.adminToken.token },
    domain,
    users,
    dataDir,
    addUser,
    async deliver(user, message) {
      await services.store.deliver(user, typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
    },
    messages: (user) => http.mailboxes.scan(user, []),
    async waitForMessage(query, timeoutMs = 10_000) {
      const found = await waitFor(http.mailboxes, services.events, {
        users: async () => (await services.users.list()).map((e) => e.name),
        query,
        timeoutMs,
        ...(services.mailRescanMs === undefined ? {} : { rescanMs: services.mailRescanMs }),
      });
      if (!found) throw new WaitTimeoutError(`no message matching ${JSON.stringify(query)} within ${timeoutMs} ms`);
      return { user: found.user, message: found.message, link: firstLink(found.message), code: firstCode(found.message) };
    },
    chaos: services.chaos,
    services,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await services.close();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

function merge(base: Record<string, unknown>, over: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
