import type { AddressObject, ParsedMail } from 'mailparser';
import { MaildropLockedError } from '../store/errors.js';
import { isValidUserName } from '../store/maildir/user-name.js';
import type { MailStore, Maildrop } from '../store/types.js';
import { ApiError, notFound } from './errors.js';
import { matches, needsBody, parseSearch, SearchSyntaxError, type SearchableMessage, type SearchTerm } from './search.js';

/** Who may have a mailbox: the users file (or anything with the same lookup). */
export interface MailboxOwners {
  lookup(name: string): Promise<unknown>;
}

export interface MessageSummary extends SearchableMessage {
  /** The message's UIDL: stable, never reused in its mailbox. */
  readonly id: string;
}

export interface MessagePage {
  readonly total: number;
  readonly unread: number;
  readonly start: number;
  readonly messages: readonly MessageSummary[];
}

export interface ParsedAttachment {
  readonly index: number;
  readonly filename: string | null;
  readonly contentType: string;
  readonly size: number;
  readonly contentId: string | null;
}

export interface ParsedMessage extends MessageSummary {
  readonly cc: string;
  readonly messageId: string | null;
  readonly text: string | null;
  readonly html: string | null;
  readonly attachments: readonly ParsedAttachment[];
}

/** Messages parsed in full at most this large; larger ones are still listed and served raw. */
const PARSE_LIMIT = 32 * 1024 * 1024;

/**
 * The mailboxes as the HTTP API sees them. Every request takes the maildrop lock that POP3
 * sessions take (RFC 1939: one session at a time), briefly: while a POP3 client holds it,
 * requests answer 409 maildrop_locked. Requests of this process for one mailbox queue up
 * rather than refuse each other. Ids are UIDLs; `latest` names the newest message.
 */
export class Mailboxes {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: { readonly store: MailStore; readonly owners: MailboxOwners }) {}

  async list(user: string, options: { start: number; limit: number; query?: string }): Promise<MessagePage> {
    const terms = options.query ? searchTerms(options.query) : [];
    return this.withMaildrop(user, async (md) => {
      const newestFirst = [...md.messages.keys()].reverse();
      let unread = 0;
      for (const i of newestFirst) if (!seen(md, i)) unread++;
      if (terms.length === 0) {
        const page = newestFirst.slice(options.start, options.start + options.limit);
        const messages = await Promise.all(page.map((i) => summarize(md, i)));
        return { result: { total: newestFirst.length, unread, start: options.start, messages } };
      }
      const found = await this.matching(md, newestFirst, terms);
      return { result: { total: found.length, unread, start: options.start, messages: found.slice(options.start, options.start + options.limit).map((f) => f.summary) } };
    });
  }

  /** The message as on the POP3 wire (CRLF line ends, no dot-stuffing). */
  async raw(user: string, id: string): Promise<Buffer> {
    return this.withMaildrop(user, async (md) => ({ result: await readMessage(md, indexOf(md, id)) }));
  }

  async parsed(user: string, id: string): Promise<ParsedMessage> {
    return this.withMaildrop(user, async (md) => {
      const i = indexOf(md, id);
      return { result: describe(md, i, await parse(await readMessage(md, i))) };
    });
  }

  async headers(user: string, id: string): Promise<{ name: string; value: string }[]> {
    return this.withMaildrop(user, async (md) => {
      const parsed = await parse(await readMessage(md, indexOf(md, id)));
      return { result: parsed.headerLines.map((h) => ({ name: h.line.slice(0, h.line.indexOf(':')), value: h.line.slice(h.line.indexOf(':') + 1).trim() })) };
    });
  }

  async attachment(user: string, id: string, index: number): Promise<{ filename: string | null; contentType: string; content: Buffer }> {
    return this.withMaildrop(user, async (md) => {
      const parsed = await parse(await readMessage(md, indexOf(md, id)));
      const a = parsed.attachments[index];
      if (!a) throw notFound('attachment');
      return { result: { filename: a.filename ?? null, contentType: a.contentType, content: a.content } };
    });
  }

  /** Deletes the messages with these ids (all must exist), or all matching `query`, or all. */
  async delete(user: string, what: { ids: readonly string[] } | { query: string } | { all: true }): Promise<string[]> {
    const terms = 'query' in what ? searchTerms(what.query) : [];
    const deleted = await this.withMaildrop(user, async (md) => {
      let indexes: number[];
      if ('ids' in what) indexes = what.ids.map((id) => indexOf(md, id));
      else if ('query' in what) indexes = (await this.matching(md, [...md.messages.keys()], terms)).map((f) => f.index);
      else indexes = [...md.messages.keys()];
      const set = new Set(indexes);
      return { result: [...set].map((i) => (md.messages[i] as { uid: string }).uid), changes: set };
    });
    // message.deleted is published by the store (ObservedStore), as for POP3 deletions.
    return deleted;
  }

  /** Messages of the mailbox, newest first, for waiting: summaries with the text when asked. */
  async scan(user: string, terms: readonly SearchTerm[]): Promise<ParsedMessage[]> {
    return this.withMaildrop(user, async (md) => {
      const found: ParsedMessage[] = [];
      for (const i of [...md.messages.keys()].reverse()) {
        const summary = await summarize(md, i);
        if (!matches(terms.filter((t) => !needsBody([t])), summary)) continue;
        const parsedMessage = describe(md, i, await parse(await readMessage(md, i)));
        if (matches(terms, parsedMessage, bodyOf(parsedMessage))) found.push(parsedMessage);
      }
      return { result: found };
    });
  }

  private async matching(md: Maildrop, order: readonly number[], terms: readonly SearchTerm[]): Promise<{ index: number; summary: MessageSummary }[]> {
    const found: { index: number; summary: MessageSummary }[] = [];
    const body = needsBody(terms);
    for (const i of order) {
      const summary = await summarize(md, i);
      if (!body) {
        if (matches(terms, summary)) found.push({ index: i, summary });
        continue;
      }
      // Cheap terms first: only messages that pass them are parsed.
      if (!matches(terms.filter((t) => !needsBody([t])), summary)) continue;
      const full = describe(md, i, await parse(await readMessage(md, i)));
      if (matches(terms, summary, bodyOf(full))) found.push({ index: i, summary });
    }
    return found;
  }

  private async withMaildrop<T>(user: string, work: (md: Maildrop) => Promise<{ result: T; changes?: ReadonlySet<number> }>): Promise<T> {
    if (!isValidUserName(user) || !(await this.deps.owners.lookup(user))) throw notFound('mailbox');
    const previous = this.queues.get(user) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      let md: Maildrop;
      try {
        md = await this.deps.store.openMaildrop(user, { lastLogin: false });
      } catch (err) {
        if (err instanceof MaildropLockedError) throw new ApiError(409, 'maildrop_locked', 'the mailbox is in use by a POP3 session; try again when it ends');
        throw err;
      }
      try {
        const { result, changes } = await work(md);
        if (changes && changes.size > 0) await md.commit({ deleted: changes, retrieved: new Set() });
        else await md.release();
        return result;
      } catch (err) {
        await md.release();
        throw err;
      }
    });
    this.queues.set(user, run);
    try {
      return await run;
    } finally {
      if (this.queues.get(user) === run) this.queues.delete(user);
    }
  }
}

/** The terms of a search, or a 400 bad_query for one that cannot be read. */
export function searchTerms(query: string): SearchTerm[] {
  try {
    return parseSearch(query);
  } catch (err) {
    if (err instanceof SearchSyntaxError) throw new ApiError(400, 'bad_query', err.message);
    throw err;
  }
}

function seen(md: Maildrop, index: number): boolean {
  return md.seen?.(index) ?? false;
}

function indexOf(md: Maildrop, id: string): number {
  if (id === 'latest') {
    if (md.messages.length === 0) throw notFound('message');
    return md.messages.length - 1;
  }
  const i = md.messages.findIndex((m) => m.uid === id);
  if (i < 0) throw notFound('message');
  return i;
}

async function readMessage(md: Maildrop, index: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await md.openMessage(index)) chunks.push(chunk as Buffer);
  return toCrlf(Buffer.concat(chunks));
}

/** Stored line ends (Maildir keeps LF) to the wire's CRLF, as POP3 would send them. */
function toCrlf(bytes: Buffer): Buffer {
  if (!bytes.includes(0x0a)) return bytes;
  const text = bytes.toString('latin1').replace(/\r?\n/g, '\r\n');
  return Buffer.from(text, 'latin1');
}

async function summarize(md: Maildrop, index: number): Promise<MessageSummary> {
  const info = md.messages[index] as { uid: string; size: number };
  const stream = await md.openMessage(index);
  const chunks: Buffer[] = [];
  let length = 0;
  // The header block only; a stream destroyed early reads no more of the file.
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      const soFar = Buffer.concat(chunks);
      if (/\r?\n\r?\n/.test(soFar.toString('latin1')) || length > 256 * 1024) break;
    }
  } finally {
    stream.destroy();
  }
  const all = Buffer.concat(chunks).toString('latin1');
  const end = all.search(/\r?\n\r?\n/);
  const headerBlock = Buffer.from(end >= 0 ? all.slice(0, end) : all, 'latin1');
  const parsed = await simpleParser(Buffer.concat([headerBlock, Buffer.from('\r\n\r\n')]), { skipTextToHtml: true, skipImageLinks: true });
  return { id: info.uid, from: addresses(parsed.from), to: addresses(parsed.to), subject: parsed.subject ?? '', date: parsed.date ?? null, size: info.size, seen: seen(md, index) };
}

/** mailparser, loaded on first use: a server nobody asks for parsed mail never loads it. */
let parser: Promise<typeof import('mailparser')> | undefined;

async function simpleParser(bytes: Buffer, options: { skipTextToHtml?: boolean; skipImageLinks?: boolean }): Promise<ParsedMail> {
  parser ??= import('mailparser');
  return (await parser).simpleParser(bytes, options);
}

function parse(bytes: Buffer): Promise<ParsedMail> {
  if (bytes.length > PARSE_LIMIT) throw new ApiError(413, 'too_large_to_parse', `messages over ${PARSE_LIMIT} octets are served raw only`);
  return simpleParser(bytes, { skipImageLinks: true });
}

function describe(md: Maildrop, index: number, parsed: ParsedMail): ParsedMessage {
  const info = md.messages[index] as { uid: string; size: number };
  return {
    id: info.uid,
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    subject: parsed.subject ?? '',
    date: parsed.date ?? null,
    size: info.size,
    seen: seen(md, index),
    messageId: parsed.messageId ?? null,
    text: parsed.text ?? null,
    html: typeof parsed.html === 'string' ? parsed.html : null,
    attachments: parsed.attachments.map((a, i) => ({ index: i, filename: a.filename ?? null, contentType: a.contentType, size: a.size, contentId: a.contentId ?? null })),
  };
}

export function bodyOf(message: ParsedMessage): { text: string; attachments: number } {
  return { text: `${message.text ?? ''}\n${message.html ?? ''}`, attachments: message.attachments.length };
}

function addresses(value: AddressObject | AddressObject[] | undefined): string {
  if (value === undefined) return '';
  return (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ');
}
