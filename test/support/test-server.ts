import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { FileAuthenticator } from '../../src/auth/file-authenticator.js';
import { UsersFile } from '../../src/auth/users-file.js';
import { defaultPop3Policy, type Pop3Policy } from '../../src/pop3/policy.js';
import { Pop3Server, type ServerOptions } from '../../src/pop3/server.js';
import { AuthPolicy, type AuthPolicySettings } from '../../src/auth/policy.js';
import type { SaslMechanism } from '../../src/auth/sasl/types.js';
import { NetworkSet } from '../../src/net/trusted-networks.js';
import { CertificateStore } from '../../src/tls/certificates.js';
import { MaildirStore } from '../../src/store/maildir/maildir-store.js';
import { WireClient } from './wire-client.js';

export interface TestServerOptions {
  readonly policy?: Partial<Pop3Policy>;
  readonly listener?: Partial<Omit<ServerOptions, 'listeners' | 'trustedNetworks'>>;
  /** CIDRs whose clients count as secure; loopback by default. */
  readonly trustedNetworks?: readonly string[];
  /** Start an implicit-TLS listener too and offer STLS, with a self-signed certificate. */
  readonly tls?: boolean;
  /** With tls: a CA bundle (PEM file) whose client certificates name users (SASL EXTERNAL). */
  readonly clientCa?: string;
  /** Expect PROXY headers on both listeners. */
  readonly proxyProtocol?: boolean;
  /** Peers whose PROXY headers are believed; loopback by default. */
  readonly proxyTrustedNetworks?: readonly string[];
  readonly sasl?: (users: UsersFile) => readonly SaslMechanism[];
  /** The shared AuthPolicy's settings; by default no answer floor, no delays, 1000 failures per address. */
  readonly authPolicy?: Partial<AuthPolicySettings>;
  /** Sleep for real where the policy says to wait (default: record the wait in authWaits and go on, on a clock only those waits move). */
  readonly realAuthWaits?: boolean;
  /** name -> password; stored as cheap SCRYPT unless the name is in `plain`. */
  readonly users?: Readonly<Record<string, string>>;
  readonly plain?: readonly string[];
  readonly now?: () => Date;
}

export interface TestServer {
  readonly port: number;
  /** The implicit-TLS port, when `tls` was asked for. */
  readonly tlsPort: number | undefined;
  /** PEM of the server's self-signed certificate, to trust in clients. */
  readonly certPem: string | undefined;
  readonly dataDir: string;
  readonly store: MaildirStore;
  readonly users: UsersFile;
  readonly server: Pop3Server;
  /** The AuthPolicy POP3 (and an SMTP harness next to it) log in through. */
  readonly authPolicy: AuthPolicy;
  /** Every wait the policy asked for, in ms, in order (unless realAuthWaits). */
  readonly authWaits: number[];
  /** Every JSON log line the server wrote. */
  readonly logs: Record<string, unknown>[];
  readonly rawLogs: string[];
  deliver(user: string, message: string | Buffer): Promise<void>;
  connect(): Promise<WireClient>;
  /** Connects and logs in; returns the client in TRANSACTION state. */
  login(user: string, password: string): Promise<WireClient>;
  stop(): Promise<void>;
}

/** A real Pop3Server on 127.0.0.1:0 over a Maildir in a temporary directory. */
export async function startPop3TestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'postel-test-'));
  const rawLogs: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        rawLogs.push(line);
        logs.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  const logger = pino({ level: 'debug' }, sink);
  const users = new UsersFile(join(dataDir, 'users'));
  for (const [name, password] of Object.entries(options.users ?? { alice: 'secret' })) {
    const plain = options.plain?.includes(name) ?? false;
    await users.add(name, password, plain ? { scheme: 'PLAIN' } : { cost: { ln: 4 } });
  }
  const store = new MaildirStore({ root: join(dataDir, 'mail'), hostname: 'test.local', logger });
  const policy: Pop3Policy = { ...defaultPop3Policy, ...options.policy };
  const authWaits: number[] = [];
  let authClock = Date.now();
  const authPolicy = new AuthPolicy(
    { windowMs: 3_600_000, maxFailuresPerIp: 1000, maxUserDelayMs: 0, failureResponseMs: 0, ...options.authPolicy },
    options.realAuthWaits
      ? { logger }
      : {
          logger,
          // A clock that only the recorded waits move: what the policy asks for is exact, however loaded the machine.
          now: () => authClock,
          sleep: async (ms) => {
            authWaits.push(ms);
            authClock += ms;
          },
        },
  );
  const proxyProtocol = options.proxyProtocol ?? false;
  const serverOptions: ServerOptions = {
    listeners: [
      { host: '127.0.0.1', port: 0, implicitTls: false, proxyProtocol },
      ...(options.tls ? [{ host: '127.0.0.1', port: 0, implicitTls: true, proxyProtocol }] : []),
    ],
    maxConnections: 100,
    maxConnectionsPerIp: 100,
    idleTimeoutMs: 600_000,
    loginTimeoutMs: 60_000,
    trustedNetworks: new NetworkSet(options.trustedNetworks ?? ['127.0.0.0/8', '::1/128']),
    proxyTrustedNetworks: new NetworkSet(options.proxyTrustedNetworks ?? ['127.0.0.0/8']),
    ...options.listener,
  };
  const certificates = options.tls ? await CertificateStore.open({ sni: [], minVersion: 'TLSv1.2', ...(options.clientCa ? { clientCa: options.clientCa } : {}) }, dataDir, logger) : undefined;
  const server = new Pop3Server(
    serverOptions,
    {
      store,
      auth: new FileAuthenticator(users),
      policy,
      logger,
      ...(options.sasl ? { sasl: options.sasl(users) } : {}),
      authPolicy,
      ...(options.now ? { now: options.now } : {}),
    },
    certificates,
  );
  const bound = await server.listen();
  const port = (bound[0] as (typeof bound)[number]).address.port;
  const tlsPort = bound[1]?.address.port;
  const certPem = options.tls ? await readFile(join(dataDir, 'tls', 'self-signed-cert.pem'), 'utf8') : undefined;
  let stopped = false;
  return {
    port,
    tlsPort,
    certPem,
    dataDir,
    store,
    users,
    server,
    authPolicy,
    authWaits,
    logs,
    rawLogs,
    async deliver(user, message) {
      await store.deliver(user, typeof message === 'string' ? Buffer.from(message, 'utf8') : message);
    },
    connect: () => WireClient.connect(port),
    async login(user, password) {
      const client = await WireClient.connect(port);
      const greeting = await client.line();
      if (!greeting.startsWith('+OK')) throw new Error(`greeting: ${greeting}`);
      const u = await client.command(`USER ${user}`);
      if (!u.startsWith('+OK')) throw new Error(`USER: ${u}`);
      const p = await client.command(`PASS ${password}`);
      if (!p.startsWith('+OK')) throw new Error(`PASS: ${p}`);
      return client;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close(100);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
