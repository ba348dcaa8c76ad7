/**
 * Errors of the POP3 client. Every failure a caller may want to act on has its own class,
 * and server refusals carry the RFC 2449 / RFC 3206 response code, so a fetcher can tell
 * "try again later" ([IN-USE], [LOGIN-DELAY], [SYS/TEMP]) from "fix the configuration"
 * ([AUTH], [SYS/PERM]).
 */

/** The response codes this client acts on; servers may send others, kept as strings. */
export type KnownResponseCode = 'IN-USE' | 'LOGIN-DELAY' | 'AUTH' | 'SYS/TEMP' | 'SYS/PERM';

/** Base class: `instanceof Pop3ClientError` catches every client failure. */
export class Pop3ClientError extends Error {
  override readonly name: string = 'Pop3ClientError';
  /** Whether the same operation may succeed later without any change on our side. */
  readonly temporary: boolean;
  constructor(message: string, temporary: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.temporary = temporary;
  }
}

/** The server answered -ERR. `code` is the bracketed response code, upper-cased, if any. */
export class Pop3ServerError extends Pop3ClientError {
  override readonly name: string = 'Pop3ServerError';
  constructor(
    /** The command that was refused, without its arguments (never a password). */
    readonly command: string,
    /** The server's text after -ERR and the response code. */
    readonly text: string,
    readonly code: string | undefined,
  ) {
    super(`${command}: -ERR${code === undefined ? '' : ` [${code}]`} ${text}`.trimEnd(), isTemporaryCode(code));
  }
}

/**
 * Authentication was refused. RFC 3206 [AUTH] means the credentials were wrong; without a
 * code the server may also have refused for another reason, so the text is kept.
 */
export class Pop3AuthError extends Pop3ServerError {
  override readonly name = 'Pop3AuthError';
}

/** [IN-USE]: another session holds the maildrop; retry later. */
export class Pop3InUseError extends Pop3ServerError {
  override readonly name = 'Pop3InUseError';
}

/** [LOGIN-DELAY]: logged in too soon after the previous login; retry after `delaySeconds`. */
export class Pop3LoginDelayError extends Pop3ServerError {
  override readonly name = 'Pop3LoginDelayError';
  constructor(
    command: string,
    text: string,
    code: string | undefined,
    /** From the server's CAPA LOGIN-DELAY, when it announced one. */
    readonly delaySeconds: number | undefined,
  ) {
    super(command, text, code);
  }
}

/** The server sent something that is not POP3 (or exceeded a limit we enforce). */
export class Pop3ProtocolError extends Pop3ClientError {
  override readonly name = 'Pop3ProtocolError';
  constructor(message: string) {
    // A garbled answer is often a transient fault (a proxy, a restart); retrying is cheap.
    super(message, true);
  }
}

/** The connection failed, was closed by the server, or was closed by us after an error. */
export class Pop3ConnectionError extends Pop3ClientError {
  override readonly name: string = 'Pop3ConnectionError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, true, options);
  }
}

/** The server did not answer within the step's time limit; the connection is closed. */
export class Pop3TimeoutError extends Pop3ConnectionError {
  override readonly name = 'Pop3TimeoutError';
}

/**
 * TLS could not be set up or the certificate was not trusted. Not temporary: a certificate
 * problem is a configuration or security matter, and retrying silently would hide it.
 */
export class Pop3TlsError extends Pop3ClientError {
  override readonly name = 'Pop3TlsError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}

/**
 * The server lacks something the caller requires: STLS on a connection that must not stay
 * in plaintext, a SASL mechanism, APOP, UIDL. Not temporary: the server's offer is stable.
 */
export class Pop3CapabilityError extends Pop3ClientError {
  override readonly name = 'Pop3CapabilityError';
  constructor(message: string) {
    super(message, false);
  }
}

/**
 * The SASL exchange failed on our side: the server's challenge was malformed, or (SCRAM)
 * the server could not prove that it knows the password. Not temporary.
 */
export class Pop3SaslError extends Pop3ClientError {
  override readonly name = 'Pop3SaslError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
  }
}

/** A method was called in a state where it cannot work (after QUIT, before login...). */
export class Pop3StateError extends Pop3ClientError {
  override readonly name = 'Pop3StateError';
  constructor(message: string) {
    super(message, false);
  }
}

/** [IN-USE], [LOGIN-DELAY] and [SYS/TEMP] ask to retry; RFC 3206 says so for SYS/TEMP. */
function isTemporaryCode(code: string | undefined): boolean {
  return code === 'IN-USE' || code === 'LOGIN-DELAY' || code === 'SYS/TEMP';
}
