/** What a POP3 session enforces and advertises; built from the config by the CLI. */
export interface Pop3Policy {
  /** Host name in the greeting's APOP timestamp. */
  readonly hostname: string;
  /** RFC 1939 APOP: off by default, as it needs a plaintext-equivalent stored secret. */
  readonly apop: boolean;
  /** RFC 2449 LOGIN-DELAY in seconds; 0 means no delay is enforced. */
  readonly loginDelaySeconds: number;
  /** RFC 2449 EXPIRE in days, or null for NEVER. */
  readonly expireDays: number | null;
  /** Longest accepted command line, CRLF included (RFC 2449 lets clients send 255). */
  readonly maxLineLength: number;
  /** Unknown commands, syntax and state errors tolerated before the session is closed. */
  readonly maxBadCommands: number;
  /** Failed logins tolerated in one session before it is closed. */
  readonly maxAuthFailures: number;
  /**
   * Refuse USER/PASS and password-exposing SASL mechanisms on connections that are neither
   * TLS nor from a trusted network (like Dovecot's disable_plaintext_auth).
   */
  readonly disablePlaintextAuth: boolean;
  /** IMPLEMENTATION capability text. */
  readonly implementation: string;
}

export const defaultPop3Policy: Pop3Policy = {
  hostname: 'localhost',
  apop: false,
  loginDelaySeconds: 0,
  expireDays: null,
  maxLineLength: 1024,
  maxBadCommands: 20,
  maxAuthFailures: 3,
  disablePlaintextAuth: true,
  implementation: 'postel',
};
