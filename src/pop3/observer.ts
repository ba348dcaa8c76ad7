import type { EndReason } from './state.js';

/** A session as its watchers may see and steer it (the HTTP API's sessions list). */
export interface ObservedPop3Session {
  readonly id: string;
  readonly remote: string;
  readonly startedAt: Date;
  /** The logged-in user (whose maildrop is locked in TRANSACTION), or null. */
  readonly user: string | null;
  readonly state: string;
  readonly tls: boolean;
  /** Octets from and to the client, and command lines answered, so far. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly commands: number;
  /** Ends the session without committing, telling the client why. */
  end(text: string): Promise<void>;
}

export type LoginResult = 'success' | 'failure' | 'blocked';

/**
 * What POP3 sessions tell whoever watches them (metrics, the sessions list, events). Calls
 * are synchronous and cheap; the session does not wait for them.
 */
export interface Pop3Observer {
  sessionStarted(session: ObservedPop3Session): void;
  sessionEnded(session: ObservedPop3Session, reason: EndReason): void;
  /** One command answered: its verb (UNKNOWN for verbs postel does not know), ok or not, and how long it took. */
  commandDone(verb: string, ok: boolean, seconds: number, retrBytes: number): void;
  login(info: { readonly mechanism: string; readonly result: LoginResult; readonly user: string | null; readonly remote: string }): void;
  lockConflict(user: string): void;
}
