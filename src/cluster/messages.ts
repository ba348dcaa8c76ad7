import type { AuthEvent } from '../auth/policy.js';
import type { ChaosRules } from '../chaos/chaos.js';
import type { EventType, PostelEvent } from '../events/bus.js';
import type { SessionEntry } from '../events/sessions.js';
import type { BoundListener } from '../pop3/server.js';

/*
 * What the main process and its POP3 workers tell each other over the cluster IPC channel.
 * Everything is plain JSON.
 */

export type ToWorker =
  /**
   * Sent once, before the worker listens: keys shared so that any worker resumes any TLS
   * session, the event types to forward and the chaos rules now (sent here because a message
   * arriving before the worker's handler is installed would be lost).
   */
  | { readonly type: 'postel:init'; readonly ticketKeys: string; readonly authCacheKey: string; readonly events: readonly EventType[]; readonly chaos?: ChaosRules }
  /** The event types the main process listens to now: forward those (postel:event), no others; answer postel:event-interest-applied. */
  | { readonly type: 'postel:event-interest'; readonly id: number; readonly types: readonly EventType[] }
  /** Another worker verified a password: its cache entry, usable while the stored hash holds. */
  | { readonly type: 'postel:verified'; readonly user: string; readonly stored: string; readonly mac: string }
  /** Another process counted a failed login or a login: count it here too, so the AuthPolicy is shared. */
  | { readonly type: 'postel:auth-event'; readonly event: AuthEvent }
  /** Another worker saved the snapshot file of this user's (large) maildrop: adopt it, so the next login here is cheap. */
  | { readonly type: 'postel:snapshot-saved'; readonly user: string }
  /** SIGHUP: read the certificates again. */
  | { readonly type: 'postel:reload' }
  /** A scrape of /metrics: answer with this worker's series (postel:metrics). */
  | { readonly type: 'postel:metrics-request'; readonly id: number }
  /** The chaos rules now (sent whenever they change, and to a new worker): answer postel:chaos-applied. */
  | { readonly type: 'postel:chaos'; readonly id: number; readonly rules: ChaosRules }
  /** The sessions list: answer with this worker's sessions (postel:sessions). */
  | { readonly type: 'postel:sessions-request'; readonly id: number }
  /** End this session if it is yours; answer postel:session-ended. */
  | { readonly type: 'postel:end-session'; readonly id: number; readonly session: string; readonly text: string };

export type ToPrimary =
  /** The worker is ready for postel:init (a message sent before it listened would be lost). */
  | { readonly type: 'postel:hello' }
  | { readonly type: 'postel:listening'; readonly bound: readonly BoundListener[] }
  | { readonly type: 'postel:auth-event'; readonly event: AuthEvent }
  | { readonly type: 'postel:verified'; readonly user: string; readonly stored: string; readonly mac: string }
  | { readonly type: 'postel:snapshot-saved'; readonly user: string }
  /** prom-client's JSON form of this worker's registry. */
  | { readonly type: 'postel:metrics'; readonly id: number; readonly metrics: unknown }
  /** Something happened in this worker (session.start, login.failed, message.deleted ...): for the events stream. */
  | { readonly type: 'postel:event'; readonly event: PostelEvent }
  | { readonly type: 'postel:sessions'; readonly id: number; readonly sessions: readonly SessionEntry[] }
  | { readonly type: 'postel:session-ended'; readonly id: number; readonly ended: boolean }
  | { readonly type: 'postel:chaos-applied'; readonly id: number }
  | { readonly type: 'postel:event-interest-applied'; readonly id: number };

/** The answers to a request that carries an id. */
export type Reply = Extract<ToPrimary, { type: 'postel:metrics' | 'postel:sessions' | 'postel:session-ended' | 'postel:chaos-applied' | 'postel:event-interest-applied' }>;

export function isMessage<T extends { type: string }>(value: unknown, type: T['type']): value is T {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}
