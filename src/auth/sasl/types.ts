/*
 * SASL (RFC 4422) mechanisms, independent of the protocol carrying them: POP3 AUTH (RFC 5034)
 * now, SMTP submission AUTH (RFC 4954) later. Mechanisms see raw bytes; the protocol layer
 * does base64, line limits, `*` cancellation, delays and failure budgets.
 */

export interface SaslContext {
  readonly remoteAddress: string;
  /**
   * Whether a password or bearer token may be sent here: TLS, a trusted network, or a
   * policy that allows plaintext. Mechanisms with exposesPassword refuse to run without it.
   */
  readonly secure: boolean;
  /** Present on TLS connections. */
  readonly tls?: SaslTlsContext;
}

export interface SaslTlsContext {
  /**
   * RFC 9266 tls-exporter: socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)).
   * Only on TLS 1.3 (or TLS 1.2 with extended master secret, RFC 9266 section 3): leave it
   * out otherwise, since the value is not unique to the connection there.
   */
  readonly exporter?: () => Buffer;
  /** RFC 5929 tls-server-end-point: hash of the server certificate per the RFC's hash rule. */
  readonly serverEndPoint?: Buffer;
  /** User named by a verified client certificate, for EXTERNAL (the lead maps the cert). */
  readonly clientCertUser?: string;
}

export type SaslStep =
  /** Send the data as a continuation (POP3: `+ base64(data)`), then pass the reply to step(). */
  | { readonly kind: 'challenge'; readonly data: Buffer }
  /**
   * Authenticated as `user` (canonical name). `final` is server data that goes with the
   * outcome (SCRAM's server-final-message); POP3 has no room for it in +OK, so it sends it as
   * one more challenge and expects an empty reply first (RFC 5034 section 4).
   */
  | { readonly kind: 'success'; readonly user: string; readonly final?: Buffer }
  /**
   * Not authenticated. `reason` is for logs only, never for the client. `user` is the name
   * the client claimed, when there was one, for logs and per-user failure budgets.
   * `temporary`: a server-side fault (unreadable users file, key file), not the client's.
   */
  | { readonly kind: 'failure'; readonly reason: string; readonly user?: string; readonly temporary?: boolean };

export interface SaslExchange {
  /**
   * The first call gets the initial response: `undefined` when the client sent none (POP3
   * `AUTH MECH`), an empty Buffer when it sent an empty one (POP3 `AUTH MECH =`); the two
   * mean different things for PLAIN and EXTERNAL. Later calls get each reply to a challenge.
   * Never throws for anything the client sent; after success or failure every call fails.
   */
  step(response: Buffer | undefined): Promise<SaslStep>;
}

export interface SaslMechanism {
  /** The registered name, e.g. 'SCRAM-SHA-256-PLUS'. */
  readonly name: string;
  /** Sends a password or bearer token: refused on connections that are not secure. */
  readonly exposesPassword: boolean;
  /** Whether the connection has what the mechanism needs (channel binding, a client certificate). */
  available(ctx: SaslContext): boolean;
  start(ctx: SaslContext): SaslExchange;
}

/** What SCRAM needs to know about a user: the keys, never the password (RFC 5802 section 3). */
export interface ScramKeys {
  readonly iterations: number;
  readonly salt: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

export interface ScramCredentials extends ScramKeys {
  /** Canonical user name. */
  readonly user: string;
}

/** The account store as the mechanisms see it; every name argument is as the client sent it. */
export interface SaslCredentials {
  /** Canonical user, or null. Takes as long for an unknown user as for a wrong password. */
  verifyPassword(user: string, password: string): Promise<string | null>;
  /** Null: the user is unknown or has no SCRAM-SHA-256 keys. */
  scram(user: string): Promise<ScramCredentials | null>;
  /** CRAM-MD5's shared secret; only for {PLAIN}/{CLEARTEXT} passwords, else null. */
  plaintextSecret(user: string): Promise<{ readonly user: string; readonly secret: string } | null>;
  /** Canonical name of an existing user, for OAuth and EXTERNAL, or null. */
  exists(user: string): Promise<string | null>;
}
