/**
 * A refusal the SMTP client is told about. Everything else that goes wrong while handling a
 * command is an internal fault: logged, and answered with a generic 451 so that no detail
 * (paths, errno text) reaches the wire.
 */
export class SmtpReplyError extends Error {
  override readonly name = 'SmtpReplyError';
  /** Read by smtp-server for the reply code. */
  readonly responseCode: number;

  constructor(
    readonly code: number,
    /** RFC 3463 enhanced status code, e.g. "5.1.1". */
    readonly enhanced: string,
    readonly text: string,
  ) {
    // smtp-server writes `${responseCode} ${message}`; the enhanced code leads the message so
    // that the adapter (smtp-server-adapter.ts) can send it instead of the library's guess.
    super(`${enhanced} ${text}`);
    this.responseCode = code;
  }

  /** 4xx: the client should keep the message and try again. */
  get temporary(): boolean {
    return this.code >= 400 && this.code < 500;
  }
}

/** A reply text that already carries its enhanced status code. */
export const ENHANCED_PREFIX = /^[245]\.\d{1,3}\.\d{1,3} /;

export const replies = {
  unknownRecipient: (): SmtpReplyError => new SmtpReplyError(550, '5.1.1', 'Recipient address rejected: no such user here'),
  overQuota: (): SmtpReplyError => new SmtpReplyError(552, '5.2.2', 'Mailbox full: over quota'),
  relayDenied: (): SmtpReplyError => new SmtpReplyError(554, '5.7.1', 'Relay access denied'),
  authRequired: (): SmtpReplyError => new SmtpReplyError(530, '5.7.0', 'Authentication required'),
  tlsRequired: (): SmtpReplyError => new SmtpReplyError(538, '5.7.11', 'Encryption required: issue STARTTLS first'),
  authFailed: (): SmtpReplyError => new SmtpReplyError(535, '5.7.8', 'Authentication credentials invalid'),
  /** RFC 4954 6: 454 4.7.0 is a temporary authentication failure. */
  authBlocked: (): SmtpReplyError => new SmtpReplyError(454, '4.7.0', 'Too many failed logins; try again later'),
  /** RFC 6409 6.1, as Postfix's reject_sender_login_mismatch answers. */
  senderNotOwned: (): SmtpReplyError => new SmtpReplyError(553, '5.7.1', 'Sender address not owned by the authenticated user'),
  tooManyAuthFailures: (): SmtpReplyError => new SmtpReplyError(421, '4.7.0', 'Too many failed authentications, closing connection'),
  tooManyConnections: (): SmtpReplyError => new SmtpReplyError(421, '4.7.0', 'Too many connections, try again later'),
  tooManyErrors: (): SmtpReplyError => new SmtpReplyError(421, '4.7.0', 'Too many errors, closing connection'),
  localError: (): SmtpReplyError => new SmtpReplyError(451, '4.3.0', 'Temporary local problem, try again later'),
  storageFull: (): SmtpReplyError => new SmtpReplyError(452, '4.3.1', 'Insufficient system storage, try again later'),
  shuttingDown: (): SmtpReplyError => new SmtpReplyError(421, '4.3.2', 'Server shutting down'),
  badSender: (): SmtpReplyError => new SmtpReplyError(553, '5.1.7', 'Sender address rejected'),
} as const;
