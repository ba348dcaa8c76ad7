/**
 * One SASL exchange from the client's side (RFC 4422), independent of POP3 framing: the
 * client turns bytes into base64 lines. A mechanism object serves one authentication.
 */
export interface SaslMechanism {
  /** The registered name, upper-case, as sent in AUTH. */
  readonly name: string;
  /** The client-first message, or undefined when the server speaks first (LOGIN, CRAM-MD5). */
  initialResponse(): Buffer | undefined;
  /** The answer to a server challenge. Throws SaslError to abort the exchange. */
  respond(challenge: Buffer): Promise<Buffer>;
  /**
   * Called when the server accepted: a mechanism with mutual authentication (SCRAM) throws
   * here when the server never proved that it knows the password.
   */
  verifyCompleted(): void;
}

/** The exchange cannot go on: bad input from the server, or unusable credentials. */
export class SaslError extends Error {
  override readonly name = 'SaslError';
}
