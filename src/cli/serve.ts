import cluster from 'node:cluster';
import type { Command } from 'commander';
import { ensureDemoAccount, type DemoAccount } from '../demo.js';
import { Pop3Cluster } from '../cluster/pop3-cluster.js';
import { runPop3Worker } from '../cluster/pop3-worker.js';
import { createLogger } from '../log/logger.js';
import { dataPaths, newPasswordOptions } from '../runtime.js';
import { tuneTiering } from './tiering.js';
import { ensureDataDir, loadFor, portNumber, withCommonOptions, type CommonOptions } from './common.js';

interface ServeOptions extends CommonOptions {
  readonly pop3Port?: number;
  readonly pop3sPort?: number;
  readonly smtpPort?: number;
  readonly lmtpPort?: number;
  readonly submissionPort?: number;
  readonly host?: string;
  readonly httpPort?: number;
  readonly demo?: boolean;
  /** `postel dev`: the one POP3 password of the mailboxes made on first delivery. */
  readonly password?: string;
}

export function registerServe(program: Command): void {
  listenerOptions(withCommonOptions(program.command('serve')))
    .description('run the POP3 server, the SMTP/LMTP/submission intake and the HTTP API')
    .option('--demo', 'create a demo account with a welcome message if there is none, and print its login')
    .action((options: ServeOptions) => serve(options, false));
  listenerOptions(withCommonOptions(program.command('dev')))
    .description('a server for development: mail to any address at any domain lands in a mailbox of that name, made on first delivery')
    .option('--password <pw>', 'the POP3 password of every mailbox', 'dev')
    .action((options: ServeOptions) => serve(options, true));
}

function listenerOptions(command: Command): Command {
  return command
    .option('--pop3-port <n>', 'POP3 port (overrides pop3.port)', portNumber)
    .option('--pop3s-port <n>', 'implicit-TLS POP3 port (overrides pop3s.port)', portNumber)
    .option('--smtp-port <n>', 'SMTP port (overrides smtp.port)', portNumber)
    .option('--lmtp-port <n>', 'LMTP port (overrides smtp.lmtp.port)', portNumber)
    .option('--submission-port <n>', 'submission port (overrides smtp.submission.port)', portNumber)
    .option('--http-port <n>', 'HTTP API port (overrides http.port)', portNumber)
    .option('--host <addr>', 'address to listen on (overrides pop3.host and pop3s.host)');
}

async function serve(options: ServeOptions, dev: boolean): Promise<void> {
  tuneTiering();
  const config = await loadFor(options, {
    'pop3.port': options.pop3Port,
    'pop3.host': options.host,
    'pop3s.port': options.pop3sPort,
    'pop3s.host': options.host,
    'smtp.port': options.smtpPort,
    'smtp.lmtp.port': options.lmtpPort,
    'smtp.submission.port': options.submissionPort,
    'http.port': options.httpPort,
  });
  // A POP3 worker of a cluster runs this same command; it serves POP3 and nothing else.
  if (cluster.isWorker) return runPop3Worker(config);
  const logger = createLogger({ level: config.log.level });
  const paths = dataPaths(config);
  await ensureDataDir(config);
  let demo = null as DemoAccount | null;
  // Loaded here, not at the top: the other commands need none of the HTTP API's dependencies.
  const { startServices } = await import('../services.js');
  const devPassword = dev ? (options.password ?? 'dev') : undefined;
  const services = await startServices(config, {
    logger,
    ...(devPassword !== undefined ? { acceptAll: { password: devPassword } } : {}),
    prepare: async ({ store, users }) => {
      if (options.demo) demo = await ensureDemoAccount(paths.dataDir, users, store, config.hostname, newPasswordOptions(config));
    },
  });
  const { pop3: server, smtp, http, certificates } = services;
  const bound = services.pop3Listeners;
  const smtpBound = services.smtpListeners;
  const hostPort = (a: { address: string; family: string; port: number }): string => `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  for (const l of bound) {
    logger.info({ event: 'listening', protocol: l.implicitTls ? 'pop3s' : 'pop3', address: l.address.address, port: l.address.port, proxyProtocol: l.proxyProtocol, data: paths.dataDir }, 'listening');
  }
  const plain = (bound.find((l) => !l.implicitTls) as (typeof bound)[number]).address;
  for (const l of smtpBound) logger.info({ event: 'listening', protocol: l.implicitTls ? 'submissions' : l.kind, address: l.where }, 'listening');
  if (http) logger.info({ event: 'listening', protocol: http.url.startsWith('https') ? 'https' : 'http', address: http.address.address, port: http.address.port }, 'listening');

  // The banner goes to stderr so that stdout stays pure JSON log lines.
  const lines = [`postel: POP3 on ${hostPort(plain)}, data in ${paths.dataDir}`];
  const tlsListener = bound.find((l) => l.implicitTls);
  if (tlsListener) lines.push(`  POP3 over TLS on ${hostPort(tlsListener.address)}; STLS on the POP3 port${config.tls.cert ? '' : ` (self-signed certificate in ${paths.dataDir}/tls/)`}`);
  const smtpNames = { smtp: 'SMTP', lmtp: 'LMTP', submission: 'submission' } as const;
  if (smtpBound.length > 0) {
    lines.push(`  ${smtpBound.map((l) => `${l.implicitTls ? 'submission over TLS' : smtpNames[l.kind]} on ${l.where}`).join(', ')}`);
  }
  if (http) {
    lines.push(`  HTTP API on ${http.url} (OpenAPI at ${http.url}/api/v1/openapi.json, metrics at /metrics)`);
    const showToken = demo !== null || http.adminToken.created;
    lines.push(showToken ? `  admin token: ${http.adminToken.token} (Authorization: Bearer; kept in ${paths.dataDir}/${config.http.admin_token_file})` : `  admin token in ${paths.dataDir}/${config.http.admin_token_file} (Authorization: Bearer)`);
  }
  const mx = smtpBound.find((l) => l.kind === 'smtp');
  if (devPassword !== undefined) {
    lines.push(`  dev: mail to any address at any domain is kept in a mailbox of that name, made on first delivery`);
    lines.push(`  POP3 login: the whole address (lowercased) / ${devPassword}${mx ? `; try: swaks --to anyone@example.test --server ${mx.where}` : ''}`);
  }
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
    void services.close().then(() => {
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
