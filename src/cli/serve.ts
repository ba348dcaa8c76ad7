import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { ensureDemoAccount } from '../demo.js';
import { createLogger } from '../log/logger.js';
import { Pop3Server } from '../pop3/server.js';
import { dataPaths, openAuthenticator, openStore, openUsers, pop3Listener, pop3Policy } from '../runtime.js';
import { loadFor, portNumber, withCommonOptions, type CommonOptions } from './common.js';

interface ServeOptions extends CommonOptions {
  readonly pop3Port?: number;
  readonly host?: string;
  readonly demo?: boolean;
}

export function registerServe(program: Command): void {
  withCommonOptions(program.command('serve'))
    .description('run the POP3 server')
    .option('--pop3-port <n>', 'POP3 port (overrides pop3.port)', portNumber)
    .option('--host <addr>', 'address to listen on (overrides pop3.host)')
    .option('--demo', 'create a demo account with a welcome message if there is none, and print its login')
    .action((options: ServeOptions) => serve(options));
}

async function serve(options: ServeOptions): Promise<void> {
  const config = await loadFor(options, { 'pop3.port': options.pop3Port, 'pop3.host': options.host });
  const logger = createLogger({ level: config.log.level });
  const paths = dataPaths(config);
  await mkdir(paths.mailRoot, { recursive: true, mode: 0o700 });
  const users = openUsers(config);
  const store = openStore(config, logger);
  const demo = options.demo ? await ensureDemoAccount(paths.dataDir, users, store, config.hostname) : null;

  const server = new Pop3Server(pop3Listener(config), { store, auth: openAuthenticator(users, logger), policy: pop3Policy(config), logger });
  const address = await server.listen();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info({ event: 'listening', protocol: 'pop3', address: address.address, port: address.port, data: paths.dataDir }, 'listening');

  // The banner goes to stderr so that stdout stays pure JSON log lines.
  const lines = [`postel: POP3 on ${host}:${address.port}, data in ${paths.dataDir}`];
  if (demo) {
    if (demo.password) {
      lines.push(`  demo account: ${demo.user} / ${demo.password}${demo.created ? ' (new, with one welcome message)' : ''}`);
      lines.push(`  try: curl pop3://${demo.user}:${demo.password}@${host}:${address.port}/1`);
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
    logger.info({ event: 'shutdown', signal, sessions: server.connections }, 'shutting down');
    void server.close().then(() => {
      logger.flush();
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
