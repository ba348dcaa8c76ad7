import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AggregatorRegistry, type PrometheusContentType, type Registry } from 'prom-client';
import type { AuthPolicy } from './auth/policy.js';
import { InvalidUserNameError, normalizeUserName } from './auth/user-name.js';
import { UserExistsError } from './auth/users-file.js';
import type { Users } from './auth/users.js';
import { Pop3Cluster } from './cluster/pop3-cluster.js';
import type { Config } from './config/schema.js';
import { EventBus } from './events/bus.js';
import { SessionRegistry } from './events/sessions.js';
import type { PostelApp } from './http/app.js';
import type { Mailboxes } from './http/mailboxes.js';
import { clientSettings } from './autoconfig/settings.js';
import { Chaos } from './chaos/chaos.js';
import { registerAutoconfig } from './http/routes/autoconfig.js';
import { registerChaos } from './http/routes/chaos.js';
import { registerEvents } from './http/routes/events.js';
import { registerMailboxOverview } from './http/routes/mailbox-overview.js';
import { registerAuthFailures } from './http/routes/auth-failures.js';
import { registerSend } from './http/routes/send.js';
import { registerServerInfo, type ListeningPort } from './http/routes/server-info.js';
import { registerSessions } from './http/routes/sessions.js';
import { registerWait } from './http/routes/wait.js';
import { startHttp, type RunningHttp } from './http/start.js';
import { Metrics } from './metrics/metrics.js';
import { ObservedStore } from './metrics/observed-store.js';
import { pop3Recorder } from './metrics/pop3-recorder.js';
import { smtpRecorder } from './metrics/smtp-recorder.js';
import { watchMaildirUsage } from './metrics/store-usage.js';
import { Pop3Server, type BoundListener } from './pop3/server.js';
import { dataPaths, openAuthPolicy, openAuthenticator, openCertificates, openSaslMechanisms, openStore, openUsers, openAliases, pop3Policy, pop3ServerOptions, smtpSettings } from './runtime.js';
import type { BoundSmtpListener } from './smtp/listener.js';
import { SmtpService } from './smtp/service.js';
import { collectGarbageEvery, migrateStore } from './store/maintenance.js';
import { PostgresStore } from './store/postgres/postgres-store.js';
import type { MailStore } from './store/types.js';
import type { CertificateStore } from './tls/certificates.js';

export interface ServicesOptions {
  readonly logger: Logger;
  /** Runs after the store and users exist and before anything listens (the demo account). */
  readonly prepare?: (parts: { store: MailStore; users: Users }) => Promise<void>;
  /** More HTTP routes (they get the app and the mailboxes view). */
  readonly httpRoutes?: readonly ((app: PostelApp, mailboxes: Mailboxes) => void)[];
  /** Metrics registry to use; a fresh one by default. */
  readonly metrics?: Metrics;
  /**
   * `postel dev`: every address at any domain is accepted into a mailbox named after it
   * (lowercased), created on first delivery with this POP3 password.
   */
  readonly acceptAll?: { readonly password: string };
  /** The login policy (postel/testing passes one whose waits are short); from the config by default. */
  readonly authPolicy?: AuthPolicy;
}

/** Everything `postel serve` runs, bound and listening. */
export interface Services {
  readonly config: Config;
  readonly store: MailStore;
  readonly users: Users;
  readonly metrics: Metrics;
  readonly events: EventBus;
  readonly authPolicy: AuthPolicy;
  readonly certificates: CertificateStore;
  readonly pop3: Pop3Server | Pop3Cluster;
  readonly pop3Listeners: readonly BoundListener[];
  readonly smtp: SmtpService;
  readonly smtpListeners: readonly BoundSmtpListener[];
  readonly http: RunningHttp | null;
  /** Who is connected now. */
  readonly sessions: SessionRegistry;
  /** The chaos switch (rules can be set only when [chaos] enabled). */
  readonly chaos: Chaos;
  /** How often waits look at every mailbox for mail no event announces (Maildir); absent: never. */
  readonly mailRescanMs?: number;
  close(): Promise<void>;
}

/**
 * Builds and starts POP3 (in this process or as pop3.workers), SMTP/LMTP/submission and the
 * HTTP API from one config, sharing one store, users, failure budget, metrics registry
 * and events bus. `postel serve` and `postel/testing` both start through here.
 */
export async function startServices(config: Config, options: ServicesOptions): Promise<Services> {
  const { logger } = options;
  const startedAt = new Date();
  const paths = dataPaths(config);
  await mkdir(paths.mailRoot, { recursive: true, mode: 0o700 });
  const users = openUsers(config);
  const aliases = openAliases(config);
  const metrics = options.metrics ?? new Metrics({ recording: config.metrics.enabled });
  const events = new EventBus();
  if (config.store.migrate && config.store.url !== '') await migrateStore(config, logger);
  const baseStore = openStore(config, logger);
  // A database at the wrong schema version stops the start with a clear message.
  if (baseStore instanceof PostgresStore) await baseStore.ready();
  const stopGc = collectGarbageEvery(baseStore, logger);
  // Deliveries and deletions from every side are timed and published through this wrapper.
  const store = new ObservedStore(baseStore, metrics, events);
  if (!(baseStore instanceof PostgresStore)) watchMaildirUsage(metrics, paths.mailRoot, events);
  // Mail other nodes deliver becomes message.new here too (the events stream, waits).
  const stopOthersMail = await store.publishOthersMail().catch((err: unknown) => {
    logger.warn({ err }, 'not listening for mail delivered by other nodes');
    return async (): Promise<void> => undefined;
  });
  // A Maildir cannot announce what other programs deliver into it: waits look again now and then.
  const mailRescanMs = baseStore instanceof PostgresStore ? undefined : MAILDIR_RESCAN_MS;
  await options.prepare?.({ store, users });

  const certificates = await openCertificates(config, logger);
  const sasl = await openSaslMechanisms(config, users, logger);
  // One policy for POP3, submission and HTTP logins; with workers, kept in step with theirs.
  let workers: Pop3Cluster | undefined;
  const authPolicy = options.authPolicy ?? openAuthPolicy(config, { logger, onEvent: (event) => workers?.share(event) });
  const auth = openAuthenticator(users, logger);
  let smtp: SmtpService | undefined;
  const sessions = new SessionRegistry(
    (id, text) => smtp?.endSession(id, text) ?? false,
    (id) => smtp?.sessionCounts(id),
  );
  const observer = pop3Recorder(metrics, events, sessions);
  const chaos = new Chaos(config.chaos.enabled);
  const faults = config.chaos.enabled ? { faults: chaos } : {};
  const pop3 =
    config.pop3.workers > 1
      ? (workers = new Pop3Cluster(config.pop3.workers, logger, authPolicy, { events, chaos }))
      : new Pop3Server(pop3ServerOptions(config), { store, auth, policy: pop3Policy(config), logger, authPolicy, sasl, observer, ...faults }, certificates);
  if (workers) {
    // The workers' sessions in the list (and ended on request), and the chaos rules in them.
    const cluster = workers;
    sessions.addSource({ list: () => cluster.workerSessions(), end: (id, text) => cluster.endWorkerSession(id, text) });
    chaos.watch((rules) => cluster.shareChaos(rules));
  }
  const pop3Listeners = await pop3.listen();
  const xoauth2 = sasl.find((m) => m.name === 'XOAUTH2');
  const acceptAll = options.acceptAll ? { acceptAll: mailboxOnFirstUse(users, options.acceptAll.password) } : {};
  smtp = new SmtpService(smtpSettings(config), { store, users, ...(aliases ? { aliases } : {}), auth, authPolicy, ...(xoauth2 ? { xoauth2 } : {}), logger, tls: certificates, observer: smtpRecorder(metrics, events, sessions), ...faults, ...acceptAll });
  let smtpListeners: BoundSmtpListener[];
  let http: RunningHttp | null = null;
  try {
    smtpListeners = await smtp.start();
    const intake = intakeAddress(smtpListeners);
    const routes: ((app: PostelApp, mailboxes: Mailboxes) => void)[] = [
      (app) => registerSend(app, { intake: () => intake, hostname: config.hostname }),
      (app) => registerEvents(app, events),
      (app) => registerSessions(app, sessions),
      (app) => registerMailboxOverview(app, { users, sessions, store }),
      (app) => registerChaos(app, chaos),
      (app) => registerAutoconfig(app, { settings: clientSettings(config), userExists: async (name) => (await users.lookup(name).catch(() => undefined)) !== undefined }),
      (app, mailboxes) => registerWait(app, { mailboxes, events, users, ...(mailRescanMs === undefined ? {} : { rescanMs: mailRescanMs }) }),
      (app) => registerAuthFailures(app, authPolicy),
      (app) =>
        registerServerInfo(app, {
          listening: () => listeningPorts(pop3Listeners, smtpListeners, http),
          certificates: () => certificates.describe(),
          storeKind: baseStore instanceof PostgresStore ? 'postgres' : 'maildir',
          storeSize: async () => {
            const names = (await users.list()).map((e) => e.name);
            let bytes = 0;
            for (const name of names) bytes += await store.usage(name);
            return { bytes, mailboxes: names.length };
          },
          chaosEnabled: config.chaos.enabled,
          startedAt,
        }),
      ...(options.httpRoutes ?? []),
    ];
    // With workers, each scrape asks them for their series and sums them with ours.
    const cluster = workers;
    const registry = cluster
      ? async (): Promise<Registry> => AggregatorRegistry.aggregate<PrometheusContentType>([await metrics.registry.getMetricsAsJSON(), ...((await cluster.workerMetrics()) as object[])])
      : undefined;
    http = await startHttp(config, { store, users, auth, authPolicy, certificates, metrics, events, logger, extraRoutes: routes, ...(registry ? { registry } : {}) });
  } catch (err) {
    stopGc();
    await stopOthersMail().catch(() => undefined);
    await Promise.allSettled([pop3.close(), smtp?.close()]);
    await Promise.allSettled([baseStore.close(), users.close(), aliases?.close()]);
    throw err;
  }
  return {
    config,
    store,
    users,
    metrics,
    events,
    authPolicy,
    certificates,
    pop3,
    pop3Listeners,
    smtp,
    smtpListeners,
    http,
    sessions,
    chaos,
    ...(mailRescanMs === undefined ? {} : { mailRescanMs }),
    async close() {
      stopGc();
      await stopOthersMail().catch(() => undefined);
      await Promise.all([pop3.close(), smtp.close(), http?.close()]);
      await Promise.allSettled([baseStore.close(), users.close(), aliases?.close()]);
    },
  };
}

/** Every socket this process listens on, for the console's server page. */
function listeningPorts(pop3: readonly BoundListener[], smtp: readonly BoundSmtpListener[], http: RunningHttp | null): ListeningPort[] {
  const host = (a: { address: string; family: string; port: number }): string => (a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);
  return [
    ...pop3.map((l): ListeningPort => ({ service: l.implicitTls ? 'pop3s' : 'pop3', where: host(l.address), port: l.address.port, tls: l.implicitTls ? 'implicit' : 'starttls' })),
    ...smtp.map((l): ListeningPort => ({ service: l.kind, where: l.where, port: l.port ?? null, tls: l.implicitTls ? 'implicit' : 'starttls' })),
    ...(http ? [{ service: 'http' as const, where: host(http.address), port: http.address.port, tls: http.url.startsWith('https:') ? ('implicit' as const) : ('none' as const) }] : []),
  ];
}

/** Mail `postel deliver` or procmail put into a Maildir is found by a waiting request this soon. */
const MAILDIR_RESCAN_MS = 10_000;

/** Where POST /api/v1/send hands messages in: the SMTP listener, else LMTP on TCP. */
function intakeAddress(listeners: readonly BoundSmtpListener[]): { host: string; port: number; lmtp: boolean } | null {
  const pick = listeners.find((l) => l.kind === 'smtp' && !l.implicitTls && l.port !== undefined) ?? listeners.find((l) => l.kind === 'lmtp' && l.port !== undefined);
  if (!pick || pick.port === undefined) return null;
  const host = pick.where.slice(0, pick.where.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  const local = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return { host: local, port: pick.port, lmtp: pick.kind === 'lmtp' };
}

/** `postel dev`'s recipients: the address, lowercased, is the user; made on first use. */
function mailboxOnFirstUse(users: Users, password: string): (address: string) => Promise<string | null> {
  return async (address) => {
    let name: string;
    try {
      name = normalizeUserName(address.toLowerCase());
    } catch (err) {
      if (err instanceof InvalidUserNameError) return null;
      throw err;
    }
    if ((await users.lookup(name)) !== undefined) return name;
    try {
      // Cheap hashes: a development server's one password is no secret.
      await users.add(name, password, { cost: { ln: 4 }, scram: { iterations: 4096 } });
    } catch (err) {
      // Two deliveries to a new address at once: the other one made it.
      if (!(err instanceof UserExistsError)) throw err;
    }
    return name;
  };
}
