import type { EventBus } from '../events/bus.js';
import type { SessionRegistry } from '../events/sessions.js';
import type { Pop3Observer } from '../pop3/observer.js';
import type { Metrics } from './metrics.js';

/** The POP3 side's observer: counters and timings, the sessions list, and events. */
export function pop3Recorder(metrics: Metrics, events: EventBus, sessions?: SessionRegistry): Pop3Observer {
  // [metrics] enabled = false: the sessions list and events only (what bench --metrics-overhead compares).
  const m = metrics.recording ? metrics : undefined;
  return {
    sessionStarted(session) {
      m?.pop3Connections.inc();
      m?.pop3ActiveSessions.inc();
      sessions?.pop3Started(session);
      events.publish({ type: 'session.start', protocol: 'pop3', session: session.id, remote: session.remote });
    },
    sessionEnded(session, reason) {
      m?.pop3ActiveSessions.dec();
      sessions?.pop3Ended(session.id);
      events.publish({ type: 'session.end', protocol: 'pop3', session: session.id, remote: session.remote, user: session.user, reason });
    },
    commandDone(verb, ok, seconds, retrBytes) {
      m?.pop3Command(verb, ok, seconds, retrBytes);
    },
    login({ mechanism, result, user, remote }) {
      m?.authAttempt('pop3', mechanism, result);
      if (result !== 'success') events.publish({ type: 'login.failed', protocol: 'pop3', user, remote, mechanism: mechanism.toUpperCase() });
    },
    lockConflict() {
      m?.pop3LockConflicts.inc();
    },
  };
}
