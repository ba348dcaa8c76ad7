import cluster from 'node:cluster';
import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { ensureDemoAccount } from '../demo.js';
import { Pop3Cluster } from '../cluster/pop3-cluster.js';
import { runPop3Worker } from '../cluster/pop3-worker.js';
import { createLogger } from '../log/logger.js';
import { Pop3Server } from '../pop3/server.js';
import { collectGarbageEvery, migrateStore } from './store-maintenance.js';
import { dataPaths, newPasswordOptions, openAuthPolicy, openAuthenticator, openCertificates, openSaslMechanisms, openStore, openUsers, pop3Policy, pop3ServerOptions, smtpSettings } from '../runtime.js';
import { SmtpService } from '../smtp/service.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { ensureDataDir, loadFor, portNumber, withCommonOptions, type CommonOptions } from './common.js';

interface ServeOptions extends CommonOptions {
  readonly pop3Port?: number;
  readonly pop3sPort?: number;
  readonly smtpPort?: number;
  readonly lmtpPort?: number;
  readonly submissionPort?: number;
  readonly host?: string;
  readonly demo?: boolean;
}

export function registerServe(program: Command): void {
  withCommonOptions(program.command('serve'))
    .description('run the POP3 server')
    .option('--pop3-port <n>', 'POP3 port (overrides pop3.port)', portNumber)
    .option('--pop3s-port <n>', 'implicit-TLS POP3 port (overrides pop3s.port)', portNumber)
    .option('--smtp-port <n>', 'SMTP port (overrides smtp.port)', portNumber)
    .option('--lmtp-port <n>', 'LMTP port (overrides smtp.lmtp.port)', portNumber)
    .option('--submission-port <n>', 'submission port (overrides smtp.submission.port)', portNumber)
    .option('--host <addr>', 'address to listen on (overrides pop3.host and pop3s.host)')
    .option('--demo', 'create a demo account with a welcome message if there is none, and print its login')
    .action((options: ServeOptions) => serve(options));
}

async function serve(options: ServeOptions): Promise<void> {
  const config = await loadFor(options, {
    'pop3.port': options.pop3Port,
    'pop3.host': options.host,
    'pop3s.port': options.pop3sPort,
    'pop3s.host': options.host,
    'smtp.port': options.smtpPort,
    'smtp.lmtp.port': options.lmtpPort,
    'smtp.submission.port': options.submissionPort,
  });
  // A POP3 worker of a cluster runs this same command; it serves POP3 and nothing else.
  if (cluster.isWorker) return runPop3Worker(config);
  const logger = createLogger({ level: config.log.level });
  const paths = dataPaths(config);
  await ensureDataDir(config);
  await mkdir(paths.mailRoot, { recursive: true, mode: 0o700 });
  const users = openUsers(config);
  if (config.store.migrate && config.store.url !== '') await migrateStore(config, logger);
  const store = openStore(config, logger);
  // A database at the wrong schema version stops the start with a clear message.
  if (store instanceof PostgresStore) await store.ready();
  const stopGc = collectGarbageEvery(store, logger);
  const demo = options.demo ? await ensureDemoAccount(paths.dataDir, users, store, config.hostname, newPasswordOptions(config)) : null;

  const certificates = await openCertificates(config, logger);
  const sasl = await openSaslMechanisms(config, users, logger);
  // One policy for POP3 and submission; with workers, kept in step with theirs.
  let workers: Pop3Cluster | undefined;
  const authPolicy = openAuthPolicy(config, { logger, onEvent: (event) => workers?.share(event) });
  const server =
    config.pop3.workers > 1
      ? (workers = new Pop3Cluster(config.pop3.workers, logger, authPolicy))
      : new Pop3Server(
          pop3ServerOptions(config),
          { store, auth: openAuthenticator(users, logger), policy: pop3Policy(config), logger, authPolicy, sasl },
          certificates,
        );
  const bound = await server.listen();
  const hostPort = (a: { address: string; family: string; port: number }): string => `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  for (const l of bound) {
    logger.info({ event: 'listening', protocol: l.implicitTls ? 'pop3s' : 'pop3', address: l.address.address, port: l.address.port, proxyProtocol: l.proxyProtocol, data: paths.dataDir }, 'listening');
  }
  const plain = (bound.find((l) => !l.implicitTls) as (typeof bound)[number]).address;

  const xoauth2 = sasl.find((m) => m.name === 'XOAUTH2');
  const smtp = new SmtpService(smtpSettings(config), { store, users, auth: openAuthenticator(users, logger), authPolicy, ...(xoauth2 ? { xoauth2 } : {}), logger, tls: certificates });
  const smtpBound = await smtp.start();
  for (const l of smtpBound) logger.info({ event: 'listening', protocol: l.implicitTls ? 'submissions' : l.kind, address: l.where }, 'listening');

  // The banner goes to stderr so that stdout stays pure JSON log lines.
  const lines = [`postel: POP3 on ${hostPort(plain)}, data in ${paths.dataDir}`];
  const tlsListener = bound.find((l) => l.implicitTls);
  if (tlsListener) lines.push(`  POP3 over TLS on ${hostPort(tlsListener.address)}; STLS on the POP3 port${config.tls.cert ? '' : ` (self-signed certificate in ${paths.dataDir}/tls/)`}`);
  const smtpNames = { smtp: 'SMTP', lmtp: 'LMTP', submission: 'submission' } as const;
  if (smtpBound.length > 0) {
    lines.push(`  ${smtpBound.map((l) => `${l.implicitTls ? 'submission over TLS' : smtpNames[l.kind]} on ${l.where}`).join(', ')}`);
  }
  const mx = smtpBound.find((l) => l.kind === 'smtp');
  if (demo) {
    if (mx) lines.push(`  send: swaks --to ${demo.user}@localhost --server ${mx.where}`);
    if (demo.password) {
      lines.push(`  demo account: ${demo.user} / ${demo.password}${demo.created ? ' (new, with one welcome message)' : ''}`);
      lines.push(`  try: curl pop3://${demo.user}:${demo.password}@${hostPort(plain)}/1`);
    } else {
      lines.push(`  demo account: ${demo.user} (password changed by hand; not shown)`);
    }
  }
  lines.push('  stop with Ctrl-C');
  process.stderr.write(`${lines.join('\n')}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ event: 'shutdown', signal, sessions: server.connections, smtpSessions: smtp.connections }, 'shutting down');
    stopGc();
    void Promise.all([server.close(), smtp.close()]).then(async () => {
      await store.close().catch(() => undefined);
      // A log destination that hangs (a pipe nobody reads) must not keep the process alive.
      setTimeout(() => process.exit(0), 2000).unref();
      logger.flush(() => process.exit(0));
    });
  };
  // SIGHUP: new certificates for new connections; open sessions keep theirs.
  process.on('SIGHUP', () => {
    void certificates.reload();
    if (server instanceof Pop3Cluster) server.reload();
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
