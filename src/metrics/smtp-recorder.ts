import type { EventBus } from '../events/bus.js';
import type { SessionRegistry } from '../events/sessions.js';
import type { IntakeObserver } from '../smtp/observer.js';
import type { Metrics } from './metrics.js';

/** The SMTP side's observer: counters, and session and login events. */
export function smtpRecorder(metrics: Metrics, events: EventBus, sessions?: SessionRegistry): IntakeObserver {
  // [metrics] enabled = false: the sessions list and events only.
  const m = metrics.recording ? metrics : undefined;
  return {
    sessionStarted: ({ listener, session, remote }) => {
      sessions?.smtpStarted(session, listener, remote);
      events.publish({ type: 'session.start', protocol: 'smtp', session, remote });
    },
    sessionEnded: ({ session, remote, user }) => {
      sessions?.smtpEnded(session);
      events.publish({ type: 'session.end', protocol: 'smtp', session, remote, user, reason: 'closed' });
    },
    authAttempt: ({ session, mechanism, user, remote, result }) => {
      m?.authAttempt('smtp', mechanism, result);
      if (result === 'success') sessions?.smtpAuthenticated(session, user);
      else events.publish({ type: 'login.failed', protocol: 'smtp', user, remote, mechanism: mechanism.toUpperCase() });
    },
    messageReceived: ({ listener, accepted, bytes }) => {
      m?.smtpMessage(listener, accepted, bytes);
    },
  };
}
