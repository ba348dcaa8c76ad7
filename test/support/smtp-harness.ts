import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { FileAuthenticator } from '../../src/auth/file-authenticator.js';
import type { AuthPolicySettings } from '../../src/auth/policy.js';
import type { SaslMechanism } from '../../src/auth/sasl/types.js';
import type { UsersFile } from '../../src/auth/users-file.js';
import type { SmtpLimits, SmtpTls, SubmissionAuthPolicy } from '../../src/smtp/listener.js';
import type { SmarthostSettings } from '../../src/smtp/queue/smarthost.js';
import { SmtpService, smtpDataPaths, type SmtpSettings } from '../../src/smtp/service.js';
import { startPop3TestServer, type TestServer } from './test-server.js';

export interface SmtpHarnessOptions {
  /** name -> password (cheap scrypt). */
  readonly users?: Readonly<Record<string, string>>;
  /** name -> extra field appended to the user's line, e.g. "quota=1000". */
  readonly extra?: Readonly<Record<string, string>>;
  /** Contents of DATA/aliases. */
  readonly aliases?: string;
  readonly localDomains?: readonly string[];
  readonly limits?: Partial<SmtpLimits>;
  readonly submission?: Partial<SubmissionAuthPolicy>;
  readonly smarthost?: Omit<SmarthostSettings, 'heloName'>;
  readonly tls?: SmtpTls;
  /** Also run an implicit-TLS submission listener (needs tls). */
  readonly implicitTls?: boolean;
  /** LMTP on this unix socket path instead of TCP. */
  readonly lmtpSocket?: string;
  readonly retryIntervalsMs?: readonly number[];
  readonly maxAgeMs?: number;
  /** Settings of the AuthPolicy shared with the POP3 test server. */
  readonly authPolicy?: Partial<AuthPolicySettings>;
  /** The XOAUTH2 mechanism for submission, over the harness's users file. */
  readonly xoauth2?: (users: UsersFile) => SaslMechanism;
}

export interface SmtpHarness {
  readonly pop3: TestServer;
  readonly smtp: SmtpService;
  readonly dataDir: string;
  readonly mailRoot: string;
  readonly ports: { readonly smtp: number; readonly lmtp: number | string; readonly submission: number; readonly submissions?: number };
  readonly logs: Record<string, unknown>[];
  /** File names in USER's new/ and cur/. */
  messages(user: string): Promise<string[]>;
  /** The stored bytes of each message in new/ and cur/ (by name: oldest first). */
  stored(user: string): Promise<Buffer[]>;
  stop(): Promise<void>;
}

export const HOSTNAME = 'mx.test';

/**
 * An in-process SMTP/LMTP/submission service next to a POP3 test server, sharing its data
 * directory, users and store: mail goes in over SMTP and comes out over POP3.
 */
export async function startSmtpHarness(options: SmtpHarnessOptions = {}): Promise<SmtpHarness> {
  const pop3 = await startPop3TestServer({ users: options.users ?? { alice: 'secret', bob: 'secret' }, ...(options.authPolicy ? { authPolicy: options.authPolicy } : {}) });
  const dataDir = pop3.dataDir;
  const mailRoot = join(dataDir, 'mail');
  if (options.extra) {
    const path = join(dataDir, 'users');
    const lines = (await readFile(path, 'utf8')).split('\n').map((line) => {
      const name = line.split(':')[0] ?? '';
      const extra = options.extra?.[name];
      if (extra === undefined || line === '') return line;
      // The extra fields are the 8th field, space-separated; uid:gid:gecos:home:shell may be empty.
      const fields = line.split(':');
      return fields.length >= 8 ? `${line} ${extra}` : `${[...fields, '', '', '', '', '', ''].slice(0, 7).join(':')}:${extra}`;
    });
    await writeFile(path, lines.join('\n'));
  }
  if (options.aliases !== undefined) await writeFile(join(dataDir, 'aliases'), options.aliases);

  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const tcp = { host: '127.0.0.1', port: 0, implicitTls: false } as const;
  const settings: SmtpSettings = {
    hostname: HOSTNAME,
    localDomains: options.localDomains ?? ['localhost', 'example.test'],
    aliasesFile: join(dataDir, 'aliases'),
    mailRoot,
    ...smtpDataPaths(dataDir),
    listeners: [
      { kind: 'smtp', ...tcp },
      { kind: 'lmtp', ...tcp, ...(options.lmtpSocket ? { socketPath: options.lmtpSocket } : {}) },
      { kind: 'submission', ...tcp },
      ...(options.implicitTls ? [{ kind: 'submission' as const, host: '127.0.0.1', port: 0, implicitTls: true }] : []),
    ],
    limits: {
      maxMessageSize: 26214400,
      maxRecipients: 100,
      maxConnections: 100,
      maxConnectionsPerIp: 50,
      idleTimeoutMs: 60_000,
      maxBadCommands: 20,
      ...options.limits,
    },
    submission: { plaintextAuthFrom: () => true, maxAuthFailures: 3, senderLoginCheck: 'strict', loginTimeoutMs: 60_000, ...options.submission },
    ...(options.smarthost ? { smarthost: options.smarthost } : {}),
    queue: { retryIntervalsMs: options.retryIntervalsMs ?? [200], maxAgeMs: options.maxAgeMs ?? 60_000, pollMs: 100 },
  };
  const smtp = new SmtpService(settings, { store: pop3.store, users: pop3.users, auth: new FileAuthenticator(pop3.users), authPolicy: pop3.authPolicy, ...(options.xoauth2 ? { xoauth2: options.xoauth2(pop3.users) } : {}), logger, ...(options.tls ? { tls: options.tls } : {}) });
  const bound = await smtp.start();
  const portOf = (i: number): number => bound[i]?.port as number;
  const ports = {
    smtp: portOf(0),
    lmtp: options.lmtpSocket ?? portOf(1),
    submission: portOf(2),
    ...(options.implicitTls ? { submissions: portOf(3) } : {}),
  };
  const list = async (user: string, sub: string): Promise<string[]> => readdir(join(mailRoot, user, sub)).catch(() => []);
  return {
    pop3,
    smtp,
    dataDir,
    mailRoot,
    ports,
    logs,
    async messages(user) {
      return [...(await list(user, 'new')), ...(await list(user, 'cur'))];
    },
    async stored(user) {
      const names = [...(await list(user, 'new')).map((n) => join('new', n)), ...(await list(user, 'cur')).map((n) => join('cur', n))];
      names.sort((a, b) => a.slice(4).localeCompare(b.slice(4)));
      return Promise.all(names.map((n) => readFile(join(mailRoot, user, n))));
    },
    async stop() {
      await smtp.close();
      await pop3.stop();
    },
  };
}

/** A plain test message with LF line ends. */
export function testMessage(subject: string, body: string, extraHeaders: readonly string[] = []): string {
  return [`From: Sender <sender@remote.test>`, 'To: alice@example.test', `Subject: ${subject}`, 'Message-ID: <t.1@remote.test>', ...extraHeaders, '', body].join('\n');
}

/** The stored message without the trace fields postel adds in front (Return-Path, Delivered-To, Received). */
export function withoutTrace(stored: Buffer): Buffer {
  const text = stored.toString('latin1');
  const m = /^Return-Path: <[^>]*>\nDelivered-To: [^\n]*\n(Received: [^\n]*\n(?:\t[^\n]*\n)*)/.exec(text);
  if (!m) throw new Error(`no trace fields in: ${text.slice(0, 200)}`);
  return Buffer.from(text.slice(m[0].length), 'latin1');
}
