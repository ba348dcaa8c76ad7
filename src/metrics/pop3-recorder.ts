import type { EventBus } from '../events/bus.js';
import type { SessionRegistry } from '../events/sessions.js';
import type { Pop3Observer } from '../pop3/observer.js';
import type { Metrics } from './metrics.js';

/** The POP3 side's observer: counters and timings, the sessions list, and events. */
export function pop3Recorder(metrics: Metrics, events: EventBus, sessions?: SessionRegistry): Pop3Observer {
  return {
    sessionStarted(session) {
      metrics.pop3Connections.inc();
      metrics.pop3ActiveSessions.inc();
      sessions?.pop3Started(session);
      events.publish({ type: 'session.start', protocol: 'pop3', session: session.id, remote: session.remote });
    },
    sessionEnded(session, reason) {
      metrics.pop3ActiveSessions.dec();
      sessions?.pop3Ended(session.id);
      events.publish({ type: 'session.end', protocol: 'pop3', session: session.id, remote: session.remote, user: session.user, reason });
    },
    commandDone(verb, ok, seconds, retrBytes) {
      metrics.pop3Commands.inc({ command: verb, result: ok ? 'ok' : 'err' });
      metrics.pop3CommandDuration.observe({ command: verb }, seconds);
      if (retrBytes > 0) metrics.pop3RetrBytes.inc(retrBytes);
    },
    login({ mechanism, result, user, remote }) {
      metrics.authAttempt('pop3', mechanism, result);
      if (result !== 'success') events.publish({ type: 'login.failed', protocol: 'pop3', user, remote, mechanism: mechanism.toUpperCase() });
    },
    lockConflict() {
      metrics.pop3LockConflicts.inc();
    },
  };
}
