import type { Maildrop } from '../store/types.js';

/** RFC 1939 states as data: what a session knows in each, and nothing more. */
export type SessionState =
  | { readonly name: 'AUTHORIZATION'; user: string | null; authFailures: number }
  | {
      readonly name: 'TRANSACTION';
      readonly user: string;
      readonly maildrop: Maildrop;
      /** DELE only marks (RFC 1939 section 5); QUIT commits, RSET clears. */
      readonly deleted: Set<number>;
      readonly retrieved: Set<number>;
    }
  | { readonly name: 'UPDATE'; readonly user: string }
  | { readonly name: 'CLOSED' };

export type StateName = SessionState['name'];

export interface SessionStats {
  user: string | null;
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
