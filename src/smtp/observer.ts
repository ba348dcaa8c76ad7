import type { IntakeKind } from './intake.js';

/**
 * What the intake tells whoever watches it (metrics, the sessions list, the events stream).
 * Calls are synchronous and must be cheap; the intake does not wait for them.
 */
export interface IntakeObserver {
  sessionStarted(info: { readonly listener: IntakeKind; readonly session: string; readonly remote: string }): void;
  sessionEnded(info: { readonly listener: IntakeKind; readonly session: string; readonly remote: string; readonly user: string | null }): void;
  authAttempt(info: { readonly listener: IntakeKind; readonly session: string; readonly remote: string; readonly mechanism: string; readonly user: string; readonly result: 'success' | 'failure' | 'blocked' }): void;
  /** A message whose DATA was received: accepted when at least one copy was stored or queued. */
  messageReceived(info: { readonly listener: IntakeKind; readonly accepted: boolean; readonly bytes: number }): void;
}
