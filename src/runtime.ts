import { resolve, join } from 'node:path';
import type { Logger } from 'pino';
import { FileAuthenticator } from './auth/file-authenticator.js';
import { UsersFile, type PasswordOptions } from './auth/users-file.js';
import type { Users } from './auth/users.js';
import { PostgresUsers } from './store/postgres/users.js';
import { PostgresAliases } from './store/postgres/aliases.js';
import type { Config } from './config/schema.js';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { AuthPolicy, type AuthPolicyDeps, type AuthPolicySettings } from './auth/policy.js';
import { FileKeySource, JwtValidator } from './auth/oauth/index.js';
import { createMechanisms, MechanismConfigError } from './auth/sasl/mechanisms.js';
import type { SaslMechanism } from './auth/sasl/types.js';
import { UsersCredentials } from './auth/sasl/users-credentials.js';
import { NetworkSet } from './net/trusted-networks.js';
import type { Pop3Policy } from './pop3/policy.js';
import type { ListenerSpec, ServerOptions } from './pop3/server.js';
import { CertificateStore, type TlsSettings } from './tls/certificates.js';
import { MaildirStore, type MaildirStoreOptions } from './store/maildir/maildir-store.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import type { MailStore } from './store/types.js';
import type { SmtpListenerSpec } from './smtp/listener.js';
import { smtpDataPaths, type SmtpSettings } from './smtp/service.js';
import { isErrno } from './fs/errno.js';

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

/** The users: a table in the store's database when the store is PostgreSQL, else the users file. */
export function openUsers(config: Config): Users {
  if (config.store.url !== '') return new PostgresUsers(config.store.url);
  return new UsersFile(dataPaths(config).usersFile);
}

/** The configured store: PostgreSQL when [store] url is set, else Maildirs under DATA/mail. */
export function openStore(config: Config, logger: Logger, hooks: MaildirHooks = {}): MailStore {
  const s = config.store;
  if (s.url !== '') {
    return new PostgresStore({ url: s.url, leaseSeconds: s.lease_seconds, maxConnections: s.max_connections, logger });
  }
  return openMaildirStore(config, logger, hooks);
}

/** What a POP3 worker hears from its Maildir store (see MaildirStoreOptions). */
export type MaildirHooks = Pick<MaildirStoreOptions, 'onSnapshotSaved'>;

/** The Maildirs under DATA/mail, whatever [store] says (for what only Maildirs have, e.g. export). */
export function openMaildirStore(config: Config, logger: Logger, hooks: MaildirHooks = {}): MaildirStore {
  const format = config.pop3.dovecot_uidl_format;
  return new MaildirStore({ root: dataPaths(config).mailRoot, hostname: config.hostname, dovecotUidlFormat: format === '' ? null : format, logger, ...hooks });
}

/** The aliases table when the store is PostgreSQL; undefined means the aliases file, which the SMTP side opens itself. */
export function openAliases(config: Config): PostgresAliases | undefined {
  return config.store.url === '' ? undefined : new PostgresAliases(config.store.url);
}

/** Whether the user exists, for a command that opens the users only for this. */
export async function knownUser(config: Config, user: string): Promise<boolean> {
  const users = openUsers(config);
  try {
    return (await users.lookup(user)) !== undefined;
  } finally {
    await users.close();
  }
}

export function openAuthenticator(users: Users, logger: Logger): FileAuthenticator {
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
    disablePlaintextAuth: config.auth.disable_plaintext_auth,
    implementation: 'postel',
  };
}

export function pop3ServerOptions(config: Config): ServerOptions {
  const p = config.pop3;
  const listeners: ListenerSpec[] = [{ host: p.host, port: p.port, implicitTls: false, proxyProtocol: p.proxy_protocol }];
  if (config.pop3s.enabled) {
    listeners.push({ host: config.pop3s.host, port: config.pop3s.port, implicitTls: true, proxyProtocol: config.pop3s.proxy_protocol });
  }
  return {
    listeners,
    maxConnections: p.max_connections,
    maxConnectionsPerIp: p.max_connections_per_ip,
    idleTimeoutMs: p.idle_timeout * 1000,
    loginTimeoutMs: config.auth.login_timeout * 1000,
    trustedNetworks: trustedNetworks(config),
    proxyTrustedNetworks: new NetworkSet(config.auth.proxy_trusted_networks),
  };
}

export function trustedNetworks(config: Config): NetworkSet {
  return new NetworkSet(config.auth.trusted_networks);
}

export function authPolicySettings(config: Config): AuthPolicySettings {
  const a = config.auth;
  return {
    windowMs: a.failure_window * 1000,
    maxFailuresPerIp: a.max_failures_per_ip,
    maxUserDelayMs: a.max_user_delay * 1000,
    failureResponseMs: a.failure_response_ms,
  };
}

/** The one AuthPolicy of a process: every listener's logins go through it. */
export function openAuthPolicy(config: Config, deps: AuthPolicyDeps = {}): AuthPolicy {
  return new AuthPolicy(authPolicySettings(config), deps);
}

export function tlsSettings(config: Config): TlsSettings {
  const t = config.tls;
  return {
    ...(t.cert ? { cert: { cert: resolve(t.cert), key: resolve(t.key) } } : {}),
    sni: t.sni.map((pair) => ({ cert: resolve(pair.cert), key: resolve(pair.key) })),
    minVersion: t.min_version,
    ...(t.ciphers ? { ciphers: t.ciphers } : {}),
    ...(t.client_ca ? { clientCa: resolve(t.client_ca) } : {}),
  };
}

/**
 * The server's certificates; the self-signed default is made in DATA/tls/ on first use.
 * `ticketKeys` lets several processes resume each other's TLS sessions.
 */
export function openCertificates(config: Config, logger: Logger, ticketKeys?: Buffer): Promise<CertificateStore> {
  return CertificateStore.open({ ...tlsSettings(config), ...(ticketKeys ? { ticketKeys } : {}) }, dataPaths(config).dataDir, logger);
}

/** The SMTP side's settings: listeners, limits, local domains, smarthost and queue. */
export function smtpSettings(config: Config): SmtpSettings {
  const s = config.smtp;
  const paths = dataPaths(config);
  const listeners: SmtpListenerSpec[] = [];
  // The same rule as POP3's: a PROXY header is believed only from proxy_trusted_networks.
  const proxied = (on: boolean): { proxyFrom?: NetworkSet } => (on ? { proxyFrom: new NetworkSet(config.auth.proxy_trusted_networks) } : {});
  if (s.enabled) listeners.push({ kind: 'smtp', host: s.host, port: s.port, implicitTls: false, ...proxied(s.proxy_protocol) });
  if (s.lmtp.enabled) {
    const socketPath = s.lmtp.socket ? resolve(paths.dataDir, s.lmtp.socket) : undefined;
    listeners.push({ kind: 'lmtp', host: s.lmtp.host, port: s.lmtp.port, implicitTls: false, ...(socketPath ? { socketPath } : proxied(s.lmtp.proxy_protocol)) });
  }
  if (s.submission.enabled) listeners.push({ kind: 'submission', host: s.submission.host, port: s.submission.port, implicitTls: false, ...proxied(s.submission.proxy_protocol) });
  if (s.submission.enabled && s.submission.implicit_tls) {
    listeners.push({ kind: 'submission', host: s.submission.host, port: s.submission.implicit_tls_port, implicitTls: true, ...proxied(s.submission.proxy_protocol) });
  }
  const trusted = trustedNetworks(config);
  const h = s.smarthost;
  return {
    hostname: config.hostname,
    localDomains: s.local_domains,
    aliasesFile: resolve(paths.dataDir, s.aliases_file),
    mailRoot: paths.mailRoot,
    ...smtpDataPaths(paths.dataDir),
    listeners,
    limits: {
      maxMessageSize: s.max_message_size,
      maxRecipients: s.max_recipients,
      maxConnections: s.max_connections,
      maxConnectionsPerIp: s.max_connections_per_ip,
      idleTimeoutMs: s.idle_timeout * 1000,
      maxBadCommands: s.max_bad_commands,
    },
    submission: {
      plaintextAuthFrom: (address) => !config.auth.disable_plaintext_auth || trusted.has(address),
      maxAuthFailures: s.submission.max_auth_failures,
      senderLoginCheck: s.submission.sender_login_check,
      loginTimeoutMs: config.auth.login_timeout * 1000,
    },
    ...(h.host ? { smarthost: { host: h.host, port: h.port, security: h.security, user: h.user, password: h.password, tlsVerify: h.tls_verify } } : {}),
    queue: { retryIntervalsMs: s.queue.retry_intervals.map((sec) => sec * 1000), maxAgeMs: s.queue.max_age * 1000 },
  };
}

/**
 * The SASL mechanisms the config enables, with what they need: the users file, a secret for
 * unknown users' stand-in salts (made once in the data dir), and an OAuth token validator.
 * Throws MechanismConfigError (or OAuthKeyError) for a configuration that cannot work.
 */
export async function openSaslMechanisms(config: Config, users: Users, logger: Logger): Promise<SaslMechanism[]> {
  const names = config.sasl.mechanisms.map((m) => m.toUpperCase());
  const { dataDir } = dataPaths(config);
  if (names.includes('EXTERNAL') && config.tls.client_ca === '') {
    throw new MechanismConfigError('sasl.mechanisms: EXTERNAL needs tls.client_ca (client certificates)');
  }
  let oauth: JwtValidator | undefined;
  if (names.includes('OAUTHBEARER') || names.includes('XOAUTH2')) {
    const o = config.oauth;
    if (o.issuer === '' || o.audience.length === 0 || o.keys_file === '') {
      throw new MechanismConfigError('sasl.mechanisms: OAUTHBEARER and XOAUTH2 need oauth.issuer, oauth.audience and oauth.keys_file');
    }
    const keys = new FileKeySource(resolve(dataDir, o.keys_file));
    // Read now, so that a bad key file stops the start with a clear message.
    await keys.keys();
    oauth = new JwtValidator({
      keys,
      issuer: o.issuer,
      audience: o.audience,
      userClaims: o.user_claims,
      leewaySeconds: o.leeway_seconds,
      ...(o.required_scope ? { requiredScope: o.required_scope } : {}),
    });
  }
  return createMechanisms(names, {
    credentials: new UsersCredentials(users, { logger }),
    ...(oauth ? { oauth } : {}),
    ...(config.oauth.scope ? { oauthScope: config.oauth.scope } : {}),
    ...(config.oauth.openid_configuration ? { oauthOpenidConfiguration: config.oauth.openid_configuration } : {}),
    secret: await saslSecret(resolve(dataDir, config.sasl.secret_file)),
    scramIterations: config.sasl.scram_iterations,
    hostname: config.hostname,
  });
}

async function saslSecret(path: string): Promise<Buffer> {
  try {
    const secret = await readFile(path);
    if (secret.length >= 32) return secret;
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  const secret = randomBytes(32);
  await writeFile(path, secret, { mode: 0o600 });
  return secret;
}

/** How new passwords are stored: scrypt, plus SCRAM keys when a SCRAM mechanism is enabled. */
export function newPasswordOptions(config: Config, overrides: { scheme?: 'SCRYPT' | 'PLAIN'; scram?: boolean } = {}): PasswordOptions {
  const scram = (overrides.scram ?? true) && config.sasl.mechanisms.some((m) => m.toUpperCase().startsWith('SCRAM-'));
  return {
    ...(overrides.scheme ? { scheme: overrides.scheme } : {}),
    scram: scram ? { iterations: config.sasl.scram_iterations } : false,
  };
}
