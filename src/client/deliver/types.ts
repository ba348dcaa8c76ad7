import type { Readable } from 'node:stream';

/** What a destination knows about the message it is given. */
export interface MessageMeta {
  /** The account's name, for MDA environment variables and logs. */
  readonly account: string;
  /** The server's UIDL of the message. */
  readonly uid: string;
  /** Size from LIST (octets on the wire). */
  readonly size: number;
}

/**
 * Written to the fetch state before a delivery starts, so that after a crash the
 * destination can tell whether that delivery completed (or undo a partial one). Plain
 * JSON; null when the destination cannot tell (an MDA, an SMTP server).
 */
export type RecoveryToken = Readonly<Record<string, string | number>> | null;

export type RecoveryOutcome = 'delivered' | 'not-delivered' | 'unknown';

/** One delivery in progress. */
export interface Delivery {
  readonly token: RecoveryToken;
  /**
   * Stores the message (CRLF line ends as POP3 sends them); resolves only once it is
   * durable. On rejection nothing of the message is left at the destination.
   */
  write(message: Readable): Promise<void>;
  /** Gives up (before write, or after it failed) and releases what begin() took. */
  abort(): Promise<void>;
}

/** Where fetched mail goes: a Maildir, an mbox file, an MDA command, an SMTP/LMTP server. */
export interface Destination {
  /** For progress lines and errors, e.g. "maildir:/home/a/Maildir". */
  readonly description: string;
  begin(meta: MessageMeta): Promise<Delivery>;
  /** After a crash: whether the delivery recorded with `token` completed. */
  recover(token: RecoveryToken): Promise<RecoveryOutcome>;
}

/**
 * A message could not be delivered. `temporary`: the destination may accept it later
 * (disk full, MDA exit 75, SMTP 4xx); the message stays on the server either way.
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly temporary: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
