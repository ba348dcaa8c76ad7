import type { Readable } from 'node:stream';
import type { WireSource } from '../message/wire-source.js';

/** One message as a POP3 session sees it. */
export interface MessageInfo {
  /** The UIDL: 1-70 characters in 0x21-0x7E, unique in the maildrop, never reused. */
  readonly uid: string;
  /**
   * Octets on the wire before dot-stuffing: every line ending as CRLF and the last line
   * terminated (see src/message/wire-size.ts). LIST, STAT and RETR agree on it.
   */
  readonly size: number;
  /**
   * RFC 6856: the octets a client that did not send UTF8 gets instead, when the header holds
   * raw UTF-8 and the message is downgraded (openWire with `ascii`); absent: the same as size.
   */
  readonly asciiSize?: number;
}

export interface DeliveryMeta {
  /** Time of arrival; defaults to now. */
  readonly receivedAt?: Date;
  /**
   * Header fields for this copy only (Return-Path, Delivered-To, Received), stored in front
   * of the message. A store may keep the message itself once for all its copies.
   */
  readonly trace?: string | Uint8Array;
  /**
   * The maildrop's limit in stored octets: a delivery that would take usage() past it is
   * refused with QuotaExceededError. PostgreSQL checks it atomically with the delivery.
   */
  readonly quotaLimit?: number;
}

export interface DeliveryResult {
  /** Storage id of the new message (for Maildir, the unique part of the file name). */
  readonly id: string;
  /** Wire size of the stored message, as LIST will show it. */
  readonly size: number;
}

export interface OpenOptions {
  /**
   * RFC 2449 EXPIRE in days: messages retrieved at least this many days ago are deleted
   * before the snapshot is taken. Undefined means NEVER.
   */
  readonly expireDays?: number;
  /** Clock, for tests. */
  readonly now?: Date;
  /**
   * Read when the previous login was (Maildrop.lastLoginAt), for LOGIN-DELAY. Default true;
   * a server without LOGIN-DELAY passes false and saves a file read per login.
   */
  readonly lastLogin?: boolean;
}

export interface WireOptions {
  /** TOP: the header and this many body lines; undefined for the whole message. */
  readonly bodyLines?: number;
  /** The ASCII form for a client that did not send UTF8 (see MessageInfo.asciiSize). */
  readonly ascii?: boolean;
}

export interface CommitChanges {
  /** 0-based indexes into Maildrop.messages marked with DELE. */
  readonly deleted: ReadonlySet<number>;
  /** 0-based indexes retrieved in full with RETR during the session (marked seen). */
  readonly retrieved: ReadonlySet<number>;
}

export interface MailStore {
  /**
   * Stores one RFC 5322 message for `user`. Resolves only once the message is durable
   * (file and directory fsynced); on failure nothing is left in the maildrop.
   */
  deliver(user: string, message: Readable | Uint8Array, meta?: DeliveryMeta): Promise<DeliveryResult>;
  /**
   * Takes the exclusive maildrop lock (RFC 1939 section 4) and a snapshot of the messages,
   * oldest first. Rejects with MaildropLockedError when another session holds the lock.
   */
  openMaildrop(user: string, options?: OpenOptions): Promise<Maildrop>;
  /**
   * A read-only look at the maildrop that never waits for, nor refuses because of, the
   * POP3 lock (the HTTP API reads through it). Its list is a snapshot of the moment; a
   * message deleted since rejects openMessage with MessageGoneError.
   */
  view(user: string): Promise<MaildropView>;
  /**
   * Tells of mail that others commit where this store can see it: other nodes on a shared
   * PostgreSQL (LISTEN/NOTIFY). Deliveries through this store object are not reported (its
   * callers know them); a Maildir store sees no other writers and never calls. Resolves with
   * a stop function.
   */
  watchNewMail(handlers: NewMailHandlers): Promise<() => Promise<void>>;
  /** Stored octets in the maildrop (trace fields included), what quotas count; 0 for none. */
  usage(user: string): Promise<number>;
  /** When the user last logged in (Maildrop.recordLogin), without taking the lock; null for never. */
  lastLogin(user: string): Promise<Date | null>;
  /** Resolves when the store can serve now (the mail root is there; the database answers); for /readyz. */
  ping(): Promise<void>;
  /** Lets go of what the store holds open (database connections); the store is unusable after. */
  close(): Promise<void>;
}

export interface Maildrop {
  readonly user: string;
  /** Snapshot taken at open: index 0 is message 1. Mail arriving later is not in it. */
  readonly messages: readonly MessageInfo[];
  /** When the previous successful login happened (recordLogin), or null (also when not asked for). */
  readonly lastLoginAt: Date | null;
  /**
   * Remembers this login's time (for LOGIN-DELAY and MailStore.lastLogin). `durable: false`
   * (no LOGIN-DELAY to enforce) lets a store skip making it survive a crash, which is cheaper.
   */
  recordLogin(at: Date, options?: { readonly durable?: boolean }): Promise<void>;
  /** The stored bytes of one message, streamed; line endings as stored (LF or CRLF). */
  openMessage(index: number): Promise<Readable>;
  /**
   * One message as a POP3 multi-line response body, for RETR, or for TOP with `bodyLines`
   * (see src/message/wire-source.ts). The store chooses how it reads (whole files, read-ahead,
   * reused buffers); the caller only writes the chunks. Rejects with MessageGoneError when
   * another program removed the message.
   */
  openWire(index: number, options?: WireOptions): Promise<WireSource>;
  /** The UPDATE state: removes deleted messages, marks retrieved ones seen, then unlocks. */
  commit(changes: CommitChanges): Promise<void>;
  /** Unlocks without changing anything. Safe to call more than once. */
  release(): Promise<void>;
}

/** One message of a MaildropView. */
export interface ViewMessage {
  /**
   * Its UIDL. A Maildir message delivered while a POP3 session holds the lock has no UIDL
   * yet: it is named `~` and a digest of its file name until a later open numbers it, and
   * indexOf keeps finding it by that name afterwards.
   */
  readonly id: string;
  /** Octets on the POP3 wire, as LIST shows them. */
  readonly size: number;
  /** Retrieved over POP3 before (or marked seen by another client). */
  readonly seen: boolean;
}

/** What MailStore.view returns: no lock held, nothing to release. */
export interface MaildropView {
  readonly user: string;
  /** Oldest first, as a POP3 session would number them. */
  readonly messages: readonly ViewMessage[];
  /** The index of the message with this id (or a name it had before it got its UIDL), else -1. */
  indexOf(id: string): number;
  /** The stored bytes, streamed; MessageGoneError when the message was deleted since the view. */
  openMessage(index: number): Promise<Readable>;
}

export interface NewMailHandlers {
  /** Mail was committed to this user's maildrop elsewhere; `size` on the wire when told. */
  readonly onMail: (user: string, size: number | undefined) => void;
  /**
   * Notifications may have been lost (the subscription was re-established, and once at the
   * start): whoever waits for mail should look again.
   */
  readonly onResync: () => void;
}
