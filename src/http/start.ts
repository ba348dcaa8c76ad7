import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { resolve } from 'node:path';
import type { AuthPolicy } from '../auth/policy.js';
import type { Authenticator } from '../auth/types.js';
import type { Users } from '../auth/users.js';
import type { Config } from '../config/schema.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log/logger.js';
import { MetricsHistory } from '../metrics/history.js';
import type { Metrics } from '../metrics/metrics.js';
import { dataPaths, newPasswordOptions, trustedNetworks } from '../runtime.js';
import type { MailStore } from '../store/types.js';
import type { CertificateStore } from '../tls/certificates.js';
import { ensureAdminToken } from './admin-token.js';
import type { PostelApp } from './app.js';
import { HttpLogin } from './login.js';
import { Mailboxes } from './mailboxes.js';
import { buildHttpApp, HttpService, isLoopbackHost } from './server.js';

export interface HttpParts {
  readonly store: MailStore;
  readonly users: Users;
  readonly auth: Authenticator;
  /** The AuthPolicy POP3 and submission use: HTTP logins spend the same budgets. */
  readonly authPolicy: AuthPolicy;
  readonly certificates: CertificateStore;
  readonly metrics: Metrics;
  /** The registry to expose; this process's by default (with pop3.workers, one summed over them). */
  readonly registry?: () => Promise<Registry>;
  readonly events: EventBus;
  readonly logger: Logger;
  readonly extraRoutes?: readonly ((app: PostelApp, mailboxes: Mailboxes) => void)[];
}

export interface RunningHttp {
  readonly service: HttpService;
  readonly address: AddressInfo;
  /** https when bound beyond loopback. */
  readonly url: string;
  readonly adminToken: { readonly token: string; readonly created: boolean };
  readonly mailboxes: Mailboxes;
  readonly history: MetricsHistory;
  close(): Promise<void>;
}

/** Builds the HTTP API from the config and starts it; null when [http] is disabled. */
export async function startHttp(config: Config, parts: HttpParts): Promise<RunningHttp | null> {
  if (!config.http.enabled) return null;
  const paths = dataPaths(config);
  const adminToken = await ensureAdminToken(resolve(paths.dataDir, config.http.admin_token_file));
  const mailboxes = new Mailboxes({ store: parts.store, owners: parts.users });
  const registry = parts.registry ?? (async () => parts.metrics.registry);
  const history = new MetricsHistory(async () => (await registry()).getMetricsAsJSON());
  const app = buildHttpApp({
    adminToken: adminToken.token,
    login: new HttpLogin({ auth: parts.auth, authPolicy: parts.authPolicy, logger: parts.logger, metrics: parts.metrics, events: parts.events }),
    trustedNetworks: trustedNetworks(config),
    disablePlaintextAuth: config.auth.disable_plaintext_auth,
    maxBodyBytes: config.http.max_body_size,
    logger: parts.logger,
    // The configured store: the mail root for Maildir, the database for PostgreSQL.
    ready: async () => {
      await parts.store.ping();
      return true;
    },
    metricsText: async () => {
      const r = await registry();
      return { contentType: r.contentType, text: await r.metrics() };
    },
    history,
    users: parts.users,
    passwordOptions: (scheme) => newPasswordOptions(config, scheme ? { scheme } : {}),
    store: parts.store,
    mailboxes,
    extraRoutes: (parts.extraRoutes ?? []).map((add) => (app: PostelApp) => add(app, mailboxes)),
  });
  const tls = config.http.tls ?? !isLoopbackHost(config.http.host);
  const service = new HttpService(app, { host: config.http.host, port: config.http.port, ...(tls ? { tls: () => parts.certificates.httpsOptions() } : {}) });
  const address = await service.listen();
  history.start();
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    service,
    address,
    url: `${tls ? 'https' : 'http'}://${host}:${address.port}`,
    adminToken,
    mailboxes,
    history,
    async close() {
      history.stop();
      await service.close();
    },
  };
}
