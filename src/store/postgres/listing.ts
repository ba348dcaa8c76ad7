import type { Sql } from 'postgres';
import type { MessageInfo } from '../types.js';

/** What STAT, LIST and UIDL need of a maildrop, and each message's row key, in UID order. */
export interface Listing {
  readonly messages: readonly MessageInfo[];
  /** Indexes of messages whose ASCII size is not known yet (rows older than migration 5). */
  readonly unsized: readonly number[];
  /** messages.uid of each message, as text to keep bigint exact. */
  readonly keys: readonly string[];
}

/** A maildrop's row as a session starts: which listing is current, and the last login. */
export interface MaildropHead {
  /** The uidl_prefix and version: equal identities mean equal message lists (see ListingCache). */
  readonly identity: string;
  readonly lastLogin: Date | null;
}

export const EMPTY_LISTING: Listing = Object.freeze({ messages: Object.freeze([]), keys: Object.freeze([]), unsized: Object.freeze([]) });

/** The maildrop's head, or null when it has no row (no mail was ever delivered). */
export async function readHead(sql: Sql, user: string): Promise<MaildropHead | null> {
  const [row] = await sql<{ identity: string; last_login: Date | null }[]>`
    SELECT uidl_prefix || ':' || version AS identity, last_login FROM maildrops WHERE user_name = ${user}`;
  return row === undefined ? null : { identity: row.identity, lastLogin: row.last_login };
}

/**
 * The listing, the identity it belongs to and the last login, read in one statement (one snapshot, so no
 * change can fall between them). The rows come as four aggregated strings, one row in all,
 * instead of a row per message: for 100,000 messages the driver parses four values instead
 * of 400,000. UIDLs are 0x21-0x7E, so a space separates them safely; an ASCII size of NULL
 * (sent as stored) is an empty string between two spaces.
 */
export async function readListing(sql: Sql, user: string): Promise<(MaildropHead & { readonly listing: Listing }) | null> {
  const [row] = await sql<{ identity: string; last_login: Date | null; keys: string | null; uidls: string | null; sizes: string | null; ascii: string | null }[]>`
    SELECT d.uidl_prefix || ':' || d.version AS identity, d.last_login, l.keys, l.uidls, l.sizes, l.ascii
    FROM maildrops d CROSS JOIN LATERAL (
      SELECT string_agg(m.uid::text, ' ') AS keys, string_agg(m.uidl, ' ') AS uidls, string_agg(m.size::text, ' ') AS sizes,
             string_agg(coalesce(m.ascii_size::text, ''), ' ') AS ascii
      FROM (SELECT uid, uidl, size, ascii_size FROM messages WHERE user_name = d.user_name ORDER BY uid) m
    ) l
    WHERE d.user_name = ${user}`;
  if (row === undefined) return null;
  const listing = row.keys === null || row.uidls === null || row.sizes === null || row.ascii === null ? EMPTY_LISTING : parseListing(row.keys, row.uidls, row.sizes, row.ascii);
  return { identity: row.identity, lastLogin: row.last_login, listing };
}

/** The four aggregated columns as a Listing, in UID order whatever order they came in. */
export function parseListing(keysText: string, uidlsText: string, sizesText: string, asciiText: string): Listing {
  let keys = keysText.split(' ');
  let uidls = uidlsText.split(' ');
  const sizeTexts = sizesText.split(' ');
  let asciiTexts = asciiText.split(' ');
  if (uidls.length !== keys.length || sizeTexts.length !== keys.length || asciiTexts.length !== keys.length) throw new Error('the maildrop listing came back misaligned');
  let sizes = sizeTexts.map(Number);
  // The aggregates read an ordered subquery, which PostgreSQL keeps in practice but does not
  // promise: check, and sort when it did not.
  let ordered = true;
  for (let i = 1; i < keys.length && ordered; i++) ordered = compareKeys(keys[i - 1] as string, keys[i] as string) < 0;
  if (!ordered) {
    const order = keys.map((_, i) => i).sort((a, b) => compareKeys(keys[a] as string, keys[b] as string));
    keys = order.map((i) => keys[i] as string);
    uidls = order.map((i) => uidls[i] as string);
    sizes = order.map((i) => sizes[i] as number);
    asciiTexts = order.map((i) => asciiTexts[i] as string);
  }
  const messages = new Array<MessageInfo>(keys.length);
  const unsized: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const ascii = asciiTexts[i] as string;
    if (ascii === '-1') unsized.push(i);
    const uid = uidls[i] as string;
    const size = sizes[i] as number;
    messages[i] = Object.freeze(ascii === '' || ascii === '-1' ? { uid, size } : { uid, size, asciiSize: Number(ascii) });
  }
  return Object.freeze({ messages: Object.freeze(messages), keys: Object.freeze(keys), unsized: Object.freeze(unsized) });
}

/** Row keys are non-negative integers as text: shorter is smaller, then by digits. */
function compareKeys(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * The listings of recently opened maildrops, keyed by identity: the maildrop's random
 * uidl_prefix (new with every maildrop row) and its version, which every change to the
 * message list moves in the statement that makes it (delivery, import, commit of deletions,
 * expiry). A session reads the identity under its lease and reuses the listing only when it
 * is the same, so a stale listing cannot be handed out: a delivery is either before the
 * read (the version moved) or after it (not in this session's snapshot, as on Maildir), and
 * deletions happen only under the lease. Bounded by a total of messages, least recently
 * used dropped first.
 */
export class ListingCache {
  private readonly entries = new Map<string, { readonly identity: string; readonly listing: Listing }>();
  private messages = 0;

  /** `maxMessages`: messages kept over all maildrops (0: nothing). */
  constructor(private readonly maxMessages: number) {}

  /** Whether a listing of the maildrop is kept (of whatever identity). */
  has(user: string): boolean {
    return this.entries.has(user);
  }

  /** The listing cached for exactly this identity of the maildrop. */
  get(user: string, identity: string): Listing | undefined {
    const entry = this.entries.get(user);
    if (entry === undefined) return undefined;
    this.drop(user);
    if (entry.identity !== identity) return undefined;
    this.keep(user, identity, entry.listing);
    return entry.listing;
  }

  keep(user: string, identity: string, listing: Listing): void {
    this.drop(user);
    const size = listing.messages.length;
    if (size > this.maxMessages) return;
    // Least recently used first: a Map iterates in insertion order.
    for (const name of this.entries.keys()) {
      if (this.messages + size <= this.maxMessages) break;
      this.drop(name);
    }
    this.entries.set(user, { identity, listing });
    this.messages += size;
  }

  private drop(user: string): void {
    const entry = this.entries.get(user);
    if (entry === undefined) return;
    this.entries.delete(user);
    this.messages -= entry.listing.messages.length;
  }
}
