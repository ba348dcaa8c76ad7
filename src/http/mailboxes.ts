import type { AddressObject, ParsedMail } from 'mailparser';
import { MaildropLockedError, MessageGoneError } from '../store/errors.js';
import { isValidUserName } from '../store/maildir/user-name.js';
import type { MailStore, Maildrop, MaildropView, ViewMessage } from '../store/types.js';
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
 * The mailboxes as the HTTP API sees them. Reads go through MailStore.view: they take no
 * lock, so they never make a POP3 login wait or fail, and work while a POP3 session holds
 * the maildrop. Deletions take the maildrop lock as a POP3 session does (RFC 1939: one
 * session changes a maildrop at a time, and its message numbers must not shift under it):
 * while a POP3 client holds it, they answer 409 maildrop_locked. Deletions of this process
 * for one mailbox queue up rather than refuse each other. Ids are UIDLs; `latest` names the
 * newest message.
 */
export class Mailboxes {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: { readonly store: MailStore; readonly owners: MailboxOwners }) {}

  async list(user: string, options: { start: number; limit: number; query?: string }): Promise<MessagePage> {
    const terms = options.query ? searchTerms(options.query) : [];
    const view = await this.view(user);
    const newestFirst = [...view.messages.keys()].reverse();
    const unread = view.messages.filter((m) => !m.seen).length;
    if (terms.length === 0) {
      const page = newestFirst.slice(options.start, options.start + options.limit);
      const messages = (await Promise.all(page.map((i) => present(summarize(view, i))))).filter((m): m is MessageSummary => m !== null);
      return { total: newestFirst.length, unread, start: options.start, messages };
    }
    const found = await matching(view, newestFirst, terms);
    return { total: found.length, unread, start: options.start, messages: found.slice(options.start, options.start + options.limit).map((f) => f.summary) };
  }

  /** The message as on the POP3 wire (CRLF line ends, no dot-stuffing). */
  async raw(user: string, id: string): Promise<Buffer> {
    const view = await this.view(user);
    return found(readMessage(view, indexOf(view, id)));
  }

  async parsed(user: string, id: string): Promise<ParsedMessage> {
    const view = await this.view(user);
    const i = indexOf(view, id);
    return describe(view, i, await parse(await found(readMessage(view, i))));
  }

  async headers(user: string, id: string): Promise<{ name: string; value: string }[]> {
    const view = await this.view(user);
    const parsed = await parse(await found(readMessage(view, indexOf(view, id))));
    return parsed.headerLines.map((h) => ({ name: h.line.slice(0, h.line.indexOf(':')), value: h.line.slice(h.line.indexOf(':') + 1).trim() }));
  }

  async attachment(user: string, id: string, index: number): Promise<{ filename: string | null; contentType: string; content: Buffer }> {
    const view = await this.view(user);
    const parsed = await parse(await found(readMessage(view, indexOf(view, id))));
    const a = parsed.attachments[index];
    if (!a) throw notFound('attachment');
    return { filename: a.filename ?? null, contentType: a.contentType, content: a.content };
  }

  /**
   * Deletes the messages with these ids (all must exist), or all matching `query`, or all,
   * under the maildrop lock: what the lock's snapshot holds is what can be deleted.
   */
  async delete(user: string, what: { ids: readonly string[] } | { query: string } | { all: true }): Promise<string[]> {
    const terms = 'query' in what ? searchTerms(what.query) : [];
    const deleted = await this.withMaildrop(user, async (md) => {
      const positions = new Map(md.messages.map((m, i) => [m.uid, i]));
      let indexes: number[];
      if ('all' in what) indexes = [...md.messages.keys()];
      else {
        // Read under the lock: ids the API gave out before a message had its UIDL still
        // find it, and a search reads exactly what is being deleted.
        const view = await this.deps.store.view(user);
        const chosen = 'ids' in what ? what.ids.map((id) => indexOf(view, id)) : (await matching(view, [...view.messages.keys()], terms)).map((f) => f.index);
        indexes = chosen.map((i) => positions.get(view.messages[i]?.id ?? '')).filter((i): i is number => i !== undefined);
        if ('ids' in what && indexes.length < chosen.length) throw notFound('message');
      }
      const set = new Set(indexes);
      return { result: [...set].map((i) => (md.messages[i] as { uid: string }).uid), changes: set };
    });
    // message.deleted is published by the store (ObservedStore), as for POP3 deletions.
    return deleted;
  }

  /** Messages of the mailbox, newest first, for waiting: summaries with the text when asked. */
  async scan(user: string, terms: readonly SearchTerm[]): Promise<ParsedMessage[]> {
    const view = await this.view(user);
    const result: ParsedMessage[] = [];
    for (const i of [...view.messages.keys()].reverse()) {
      const summary = await present(summarize(view, i));
      if (summary === null || !matches(terms.filter((t) => !needsBody([t])), summary)) continue;
      const bytes = await present(readMessage(view, i));
      if (bytes === null) continue;
      const parsedMessage = describe(view, i, await parse(bytes));
      if (matches(terms, parsedMessage, bodyOf(parsedMessage))) result.push(parsedMessage);
    }
    return result;
  }

  private async view(user: string): Promise<MaildropView> {
    if (!isValidUserName(user) || !(await this.deps.owners.lookup(user))) throw notFound('mailbox');
    return this.deps.store.view(user);
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

async function matching(view: MaildropView, order: readonly number[], terms: readonly SearchTerm[]): Promise<{ index: number; summary: MessageSummary }[]> {
  const result: { index: number; summary: MessageSummary }[] = [];
  const body = needsBody(terms);
  for (const i of order) {
    const summary = await present(summarize(view, i));
    if (summary === null) continue;
    if (!body) {
      if (matches(terms, summary)) result.push({ index: i, summary });
      continue;
    }
    // Cheap terms first: only messages that pass them are parsed.
    if (!matches(terms.filter((t) => !needsBody([t])), summary)) continue;
    const bytes = await present(readMessage(view, i));
    if (bytes === null) continue;
    const full = describe(view, i, await parse(bytes));
    if (matches(terms, summary, bodyOf(full))) result.push({ index: i, summary });
  }
  return result;
}

/** A message deleted (by a POP3 session) since the view was taken is left out of lists. */
async function present<T>(work: Promise<T>): Promise<T | null> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof MessageGoneError) return null;
    throw err;
  }
}

/** A message asked for by id that was deleted since the view was taken: 404. */
async function found<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof MessageGoneError) throw notFound('message');
    throw err;
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

function indexOf(view: MaildropView, id: string): number {
  if (id === 'latest') {
    if (view.messages.length === 0) throw notFound('message');
    return view.messages.length - 1;
  }
  const i = view.indexOf(id);
  if (i < 0) throw notFound('message');
  return i;
}

async function readMessage(view: MaildropView, index: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await view.openMessage(index)) chunks.push(chunk as Buffer);
  return toCrlf(Buffer.concat(chunks));
}

/** Stored line ends (Maildir keeps LF) to the wire's CRLF, as POP3 would send them. */
function toCrlf(bytes: Buffer): Buffer {
  if (!bytes.includes(0x0a)) return bytes;
  const text = bytes.toString('latin1').replace(/\r?\n/g, '\r\n');
  return Buffer.from(text, 'latin1');
}

async function summarize(view: MaildropView, index: number): Promise<MessageSummary> {
  const info = view.messages[index] as ViewMessage;
  const stream = await view.openMessage(index);
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
  return { id: info.id, from: addresses(parsed.from), to: addresses(parsed.to), subject: parsed.subject ?? '', date: parsed.date ?? null, size: info.size, seen: info.seen };
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

function describe(view: MaildropView, index: number, parsed: ParsedMail): ParsedMessage {
  const info = view.messages[index] as ViewMessage;
  return {
    id: info.id,
    from: addresses(parsed.from),
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    subject: parsed.subject ?? '',
    date: parsed.date ?? null,
    size: info.size,
    seen: info.seen,
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
