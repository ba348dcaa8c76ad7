import type { LoginAttempt } from '../auth/policy.js';
import type { SaslExchange } from '../auth/sasl/types.js';
import type { Maildrop } from '../store/types.js';

/**
 * RFC 1939 states as data: what a session knows in each, and nothing more. Handlers return
 * the next state; only the session loop assigns it (Session.apply). The exception is the
 * two mark sets of TRANSACTION, which DELE, RSET and RETR change in place: copying them per
 * command would make 100,000 DELEs quadratic.
 */
export type SessionState = AuthorizationState | TransactionState | UpdateState | { readonly name: 'CLOSED' };

/**
 * What the client asked for with RFC 6856's UTF8 and LANG. Chosen in AUTHORIZATION and
 * carried into TRANSACTION; STLS starts over with the defaults.
 */
export interface ClientOptions {
  /** UTF8 was accepted: UTF-8 user names and passwords, messages sent as stored. */
  readonly utf8: boolean;
  /** The language tag of human-readable response texts (see texts/). */
  readonly language: string;
}

export const defaultClientOptions: ClientOptions = { utf8: false, language: 'en' };

export interface AuthorizationState {
  readonly name: 'AUTHORIZATION';
  readonly options: ClientOptions;
  /** The name given with USER, waiting for PASS. */
  readonly user: string | null;
  readonly authFailures: number;
  /** An AUTH exchange under way: the next lines are its responses, not commands. */
  readonly sasl: PendingSasl | null;
}

export interface TransactionState {
  readonly name: 'TRANSACTION';
  readonly options: ClientOptions;
  readonly user: string;
  readonly maildrop: Maildrop;
  /** DELE only marks (RFC 1939 section 5); QUIT commits, RSET clears. */
  readonly deleted: Set<number>;
  readonly retrieved: Set<number>;
}

export interface UpdateState {
  readonly name: 'UPDATE';
  readonly user: string;
}

export interface PendingSasl {
  readonly exchange: SaslExchange;
  readonly mechanism: string;
  /** The policy's attempt, from AUTH to the last step (a cancelled exchange just drops it). */
  readonly attempt: LoginAttempt;
  /** Set when the server-final data went out and only the client's empty reply is awaited. */
  readonly finalUser?: string;
}

export type StateName = SessionState['name'];

export const initialState: AuthorizationState = { name: 'AUTHORIZATION', options: defaultClientOptions, user: null, authFailures: 0, sasl: null };

export interface SessionStats {
  user: string | null;
  /** Command lines answered (unknown and refused ones too). */
  commands: number;
  retr: number;
  retrBytes: number;
  top: number;
  /** Messages marked with DELE (RSET does not lower it: it is what the client asked). */
  dele: number;
  /** Messages actually removed at QUIT. */
  expunged: number;
  badCommands: number;
  authFailures: number;
}

export type EndReason = 'quit' | 'disconnect' | 'timeout' | 'shutdown' | 'too-many-errors' | 'error';
