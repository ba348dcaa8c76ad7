import type { WireSource } from '../message/wire-source.js';

/** RFC 2449 / 3206 codes a fault may answer with. */
export type FaultCode = 'IN-USE' | 'LOGIN-DELAY' | 'SYS/TEMP';

/**
 * Faults injected on purpose, for people testing their POP3 clients (the HTTP API's chaos
 * switch). The session asks before running each command and before sending a message.
 */
export interface Pop3Faults {
  /** An error to answer instead of running `verb`, or null. `user`: logged in, or named by USER. */
  commandError(verb: string, user: string | null): { readonly code: FaultCode; readonly text: string } | null;
  /** The message as it should go out: cut off after some bytes, or trickled. */
  message(user: string, source: WireSource): WireSource;
}
