import { resolve, join } from 'node:path';
import type { Logger } from 'pino';
import { FileAuthenticator } from './auth/file-authenticator.js';
import { UsersFile } from './auth/users-file.js';
import type { Config } from './config/schema.js';
import type { Pop3Policy } from './pop3/policy.js';
import type { ListenerOptions } from './pop3/server.js';
import { MaildirStore } from './store/maildir/maildir-store.js';

/** Where things live under the data directory (documented in README.md). */
export interface DataPaths {
  readonly dataDir: string;
  readonly usersFile: string;
  readonly mailRoot: string;
}

export function dataPaths(config: Config): DataPaths {
  const dataDir = resolve(config.data_dir);
  return { dataDir, usersFile: join(dataDir, 'users'), mailRoot: join(dataDir, 'mail') };
}

export function openUsers(config: Config): UsersFile {
  return new UsersFile(dataPaths(config).usersFile);
}

export function openStore(config: Config, logger: Logger): MaildirStore {
  return new MaildirStore({ root: dataPaths(config).mailRoot, hostname: config.hostname, logger });
}

export function openAuthenticator(users: UsersFile, logger: Logger): FileAuthenticator {
  return new FileAuthenticator(users, { logger });
}

export function pop3Policy(config: Config): Pop3Policy {
  const p = config.pop3;
  return {
    hostname: config.hostname,
    apop: p.apop,
    loginDelaySeconds: p.login_delay,
    expireDays: p.expire === 'NEVER' ? null : p.expire,
    maxLineLength: p.max_line_length,
    maxBadCommands: p.max_bad_commands,
    maxAuthFailures: p.max_auth_failures,
    authFailureDelayMs: p.auth_failure_delay_ms,
    implementation: 'postel',
  };
}

export function pop3Listener(config: Config): ListenerOptions {
  const p = config.pop3;
  return {
    host: p.host,
    port: p.port,
    maxConnections: p.max_connections,
    maxConnectionsPerIp: p.max_connections_per_ip,
    idleTimeoutMs: p.idle_timeout * 1000,
  };
}
