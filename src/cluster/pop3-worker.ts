import type { Config } from '../config/schema.js';
import { createLogger } from '../log/logger.js';
import { Pop3Server } from '../pop3/server.js';
import { FileAuthenticator } from '../auth/file-authenticator.js';
import { dataPaths, openAuthPolicy, openCertificates, openSaslMechanisms, openStore, openUsers, pop3Policy, pop3ServerOptions } from '../runtime.js';
import { Chaos } from '../chaos/chaos.js';
import { EventBus, type EventType } from '../events/bus.js';
import { SessionRegistry } from '../events/sessions.js';
import { Metrics } from '../metrics/metrics.js';
import { ObservedStore } from '../metrics/observed-store.js';
import { MaildirStore } from '../store/maildir/maildir-store.js';
import { pop3Recorder } from '../metrics/pop3-recorder.js';
import { isMessage, type ToPrimary, type ToWorker } from './messages.js';

/**
 * One POP3 worker of a Pop3Cluster: the same POP3 server as a single process, on the
 * listeners the main process shares. It waits for the shared TLS ticket keys, listens,
 * reports where, and stops on SIGTERM (or SIGINT, which a terminal sends to all of us).
 */
export async function runPop3Worker(config: Config): Promise<void> {
  // Log lines from several processes share one stdout: each is written whole, in one
  // write(2), so that lines never interleave (a pipe keeps writes up to 4 KiB intact).
  const logger = createLogger({ level: config.log.level }).child({ worker: process.pid });
  const send = (msg: ToPrimary): void => {
    if (process.connected) process.send?.(msg);
  };
  const init = await new Promise<Extract<ToWorker, { type: 'postel:init' }>>((resolve) => {
    const onMessage = (msg: unknown): void => {
      if (isMessage<Extract<ToWorker, { type: 'postel:init' }>>(msg, 'postel:init')) {
        process.off('message', onMessage);
        resolve(msg);
      }
    };
    process.on('message', onMessage);
    send({ type: 'postel:hello' });
  });
  const users = openUsers(config);
  // This worker's series; the main process sums every worker's into its /metrics.
  const metrics = new Metrics({ recording: config.metrics.enabled });
  // Sessions, failed logins and deletions go to the main process's events stream: the
  // types it listens to now, which it tells us whenever they change.
  const events = new EventBus();
  let stopForwarding = (): void => {};
  const forward = (types: readonly EventType[]): void => {
    stopForwarding();
    stopForwarding = events.subscribe(({ time: _time, ...event }) => send({ type: 'postel:event', event }), types);
  };
  forward(init.events);
  const sessions = new SessionRegistry();
  // Rules come from the main process (the API sets them there).
  const chaos = new Chaos(config.chaos.enabled);
  if (chaos.enabled && init.chaos) chaos.set(init.chaos);
  // A mail client's next poll may land on any worker: each takes in the snapshot of a large
  // maildrop that another saved, instead of reading it at that login.
  const base = openStore(config, logger, { onSnapshotSaved: (user) => send({ type: 'postel:snapshot-saved', user }) });
  const store = new ObservedStore(base, metrics, events);
  const certificates = await openCertificates(config, logger, Buffer.from(init.ticketKeys, 'hex'));
  const sasl = await openSaslMechanisms(config, users, logger);
  // Every failure and login counted here reaches the main process, which tells the others.
  const authPolicy = openAuthPolicy(config, { logger, onEvent: (event) => send({ type: 'postel:auth-event', event }) });
  const auth = new FileAuthenticator(users, {
    logger,
    cacheKey: Buffer.from(init.authCacheKey, 'hex'),
    onVerified: (v) => send({ type: 'postel:verified', user: v.user, stored: v.stored, mac: v.mac.toString('hex') }),
  });
  const server = new Pop3Server(pop3ServerOptions(config), { store, auth, policy: pop3Policy(config), logger, authPolicy, sasl, observer: pop3Recorder(metrics, events, sessions), ...(config.chaos.enabled ? { faults: chaos } : {}) }, certificates);

  process.on('message', (msg: unknown) => {
    if (isMessage<Extract<ToWorker, { type: 'postel:auth-event' }>>(msg, 'postel:auth-event')) authPolicy.apply(msg.event);
    else if (isMessage<Extract<ToWorker, { type: 'postel:verified' }>>(msg, 'postel:verified')) auth.adoptVerified({ user: msg.user, stored: msg.stored, mac: Buffer.from(msg.mac, 'hex') });
    else if (isMessage<Extract<ToWorker, { type: 'postel:snapshot-saved' }>>(msg, 'postel:snapshot-saved')) {
      if (base instanceof MaildirStore) {
        base.adoptSnapshot(msg.user).then(
          (adopted) => logger.debug({ event: 'snapshot_adopted', user: msg.user, adopted }, 'took in the maildrop snapshot another worker saved'),
          (err: unknown) => logger.warn({ err, user: msg.user }, 'could not take in the maildrop snapshot another worker saved'),
        );
      }
    } else if (isMessage<Extract<ToWorker, { type: 'postel:reload' }>>(msg, 'postel:reload')) void certificates.reload();
    else if (isMessage<Extract<ToWorker, { type: 'postel:metrics-request' }>>(msg, 'postel:metrics-request')) {
      void metrics.registry.getMetricsAsJSON().then((json) => send({ type: 'postel:metrics', id: msg.id, metrics: json }));
    } else if (isMessage<Extract<ToWorker, { type: 'postel:event-interest' }>>(msg, 'postel:event-interest')) {
      forward(msg.types);
      send({ type: 'postel:event-interest-applied', id: msg.id });
    } else if (isMessage<Extract<ToWorker, { type: 'postel:chaos' }>>(msg, 'postel:chaos')) {
      if (chaos.enabled) chaos.set(msg.rules);
      send({ type: 'postel:chaos-applied', id: msg.id });
    } else if (isMessage<Extract<ToWorker, { type: 'postel:sessions-request' }>>(msg, 'postel:sessions-request')) {
      send({ type: 'postel:sessions', id: msg.id, sessions: sessions.list() });
    } else if (isMessage<Extract<ToWorker, { type: 'postel:end-session' }>>(msg, 'postel:end-session')) {
      void sessions.end(msg.session, msg.text).then(
        (ended) => send({ type: 'postel:session-ended', id: msg.id, ended }),
        (err: unknown) => {
          logger.warn({ err, session: msg.session }, 'could not end a session');
          send({ type: 'postel:session-ended', id: msg.id, ended: false });
        },
      );
    }
  });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void server.close().then(async () => {
      await store.close().catch((err: unknown) => logger.warn({ err }, 'closing the store failed'));
      setTimeout(() => process.exit(0), 2000).unref();
      logger.flush(() => process.exit(0));
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The main process reloads everyone on SIGHUP; one sent to us directly does the same.
  process.on('SIGHUP', () => void certificates.reload());
  process.on('disconnect', stop);

  const bound = await server.listen();
  logger.debug({ event: 'worker_listening', data: dataPaths(config).dataDir }, 'POP3 worker listening');
  send({ type: 'postel:listening', bound });
}
