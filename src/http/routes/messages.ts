import { createRoute, z } from '@hono/zod-openapi';
import { normalizeUserName } from '../../auth/user-name.js';
import type { Users } from '../../auth/users.js';
import type { PostelApp } from '../app.js';
import { requireMailbox, type HttpContext } from '../context.js';
import type { Mailboxes, MessageSummary, ParsedMessage } from '../mailboxes.js';
import { errorResponses, json, MessageId, security, UserName } from '../schemas.js';

export interface MessagesDeps {
  readonly mailboxes: Mailboxes;
  readonly users: Users;
}

export const Summary = z
  .object({
    id: z.string().openapi({ description: 'the UIDL' }),
    from: z.string(),
    to: z.string(),
    subject: z.string(),
    date: z.string().nullable().openapi({ description: 'the Date field, ISO 8601' }),
    size: z.number().int().openapi({ description: 'octets on the POP3 wire' }),
    seen: z.boolean().openapi({ description: 'retrieved over POP3 before' }),
  })
  .openapi('MessageSummary');

export const Parsed = Summary.extend({
  cc: z.string(),
  messageId: z.string().nullable(),
  text: z.string().nullable(),
  html: z.string().nullable(),
  attachments: z.array(z.object({ index: z.number().int(), filename: z.string().nullable(), contentType: z.string(), size: z.number().int(), contentId: z.string().nullable() })),
}).openapi('Message');

const Deleted = z.object({ deleted: z.array(z.string()) }).openapi('Deleted');
const Conflict = { 409: json(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'the mailbox is locked by a POP3 session') };

const UserParam = UserName.openapi({ param: { name: 'user', in: 'path' } });
const IdParam = MessageId.openapi({ param: { name: 'id', in: 'path' } });
const Mailbox = z.object({ user: UserParam });
const OneMessage = z.object({ user: UserParam, id: IdParam });
const Listing = z
  .object({
    start: z.coerce.number().int().min(0).default(0).openapi({ param: { name: 'start', in: 'query' } }),
    limit: z.coerce.number().int().min(1).max(1000).default(50).openapi({ param: { name: 'limit', in: 'query' } }),
    query: z.string().max(1000).optional().openapi({ param: { name: 'query', in: 'query' }, description: 'from: to: subject: before: after: larger: is:unread has:attachment, free text' }),
  })
  .strict();

export function summaryJson(m: MessageSummary): z.infer<typeof Summary> {
  return { id: m.id, from: m.from, to: m.to, subject: m.subject, date: m.date ? m.date.toISOString() : null, size: m.size, seen: m.seen };
}

export function messageJson(m: ParsedMessage): z.infer<typeof Parsed> {
  return { ...summaryJson(m), cc: m.cc, messageId: m.messageId, text: m.text, html: m.html, attachments: [...m.attachments] };
}

/** The mailbox named in the path, canonical, if the caller may see it. */
function mailbox(c: HttpContext, raw: string): string {
  const user = normalizeUserName(raw);
  requireMailbox(c, user);
  return user;
}

export function registerMessages(app: PostelApp, deps: MessagesDeps): void {
  const { mailboxes } = deps;

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/mailboxes',
      summary: 'Mailboxes the caller may see (all for the admin, their own for a user)',
      security,
      responses: { 200: json(z.object({ mailboxes: z.array(z.object({ user: z.string() })) }), 'mailboxes'), ...errorResponses },
    }),
    async (c) => {
      const p = c.get('principal');
      const names = p.kind === 'admin' ? (await deps.users.list()).map((e) => e.name) : [p.user];
      return c.json({ mailboxes: names.map((user) => ({ user })) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/mailboxes/{user}/messages',
      summary: 'List or search messages, newest first',
      security,
      request: { params: Mailbox, query: Listing },
      responses: {
        200: json(z.object({ total: z.number().int(), unread: z.number().int(), start: z.number().int(), messages: z.array(Summary) }).openapi('MessagePage'), 'a page of messages'),
        ...Conflict,
        ...errorResponses,
      },
    }),
    async (c) => {
      const user = mailbox(c, c.req.valid('param').user);
      const q = c.req.valid('query');
      const page = await mailboxes.list(user, { start: q.start, limit: q.limit, ...(q.query ? { query: q.query } : {}) });
      return c.json({ total: page.total, unread: page.unread, start: page.start, messages: page.messages.map(summaryJson) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/mailboxes/{user}/messages',
      summary: 'Delete the messages matching `query`; without a query, purge the mailbox',
      security,
      request: { params: Mailbox, query: z.object({ query: z.string().min(1).max(1000).optional().openapi({ param: { name: 'query', in: 'query' } }) }).strict() },
      responses: { 200: json(Deleted, 'the ids deleted'), ...Conflict, ...errorResponses },
    }),
    async (c) => {
      const user = mailbox(c, c.req.valid('param').user);
      const { query } = c.req.valid('query');
      return c.json({ deleted: await mailboxes.delete(user, query ? { query } : { all: true }) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/mailboxes/{user}/messages/{id}',
      summary: 'One message, parsed: addresses, text, HTML, attachments (`latest` for the newest)',
      security,
      request: { params: OneMessage },
      responses: { 200: json(Parsed, 'the message'), ...Conflict, ...errorResponses },
    }),
    async (c) => {
      const { user, id } = c.req.valid('param');
      return c.json(messageJson(await mailboxes.parsed(mailbox(c, user), id)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/mailboxes/{user}/messages/{id}/raw',
      summary: 'The message source as POP3 RETR sends it (CRLF)',
      security,
      request: { params: OneMessage },
      responses: { 200: { description: 'the source', content: { 'message/rfc822': { schema: z.string() } } }, ...Conflict, ...errorResponses },
    }),
    async (c) => {
      const { user, id } = c.req.valid('param');
      const bytes = await mailboxes.raw(mailbox(c, user), id);
      return c.body(new Uint8Array(bytes), 200, { 'content-type': 'message/rfc822' });
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/mailboxes/{user}/messages/{id}/headers',
      summary: 'The header fields in order',
      security,
      request: { params: OneMessage },
      responses: { 200: json(z.object({ headers: z.array(z.object({ name: z.string(), value: z.string() })) }).openapi('Headers'), 'the header fields'), ...Conflict, ...errorResponses },
    }),
    async (c) => {
      const { user, id } = c.req.valid('param');
      return c.json({ headers: await mailboxes.headers(mailbox(c, user), id) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/mailboxes/{user}/messages/{id}/attachments/{index}',
      summary: 'One attachment, decoded',
      security,
      request: { params: OneMessage.extend({ index: z.coerce.number().int().min(0).max(10000).openapi({ param: { name: 'index', in: 'path', required: true } }) }) },
      responses: { 200: { description: 'the attachment', content: { 'application/octet-stream': { schema: z.string() } } }, ...Conflict, ...errorResponses },
    }),
    async (c) => {
      const { user, id, index } = c.req.valid('param');
      const a = await mailboxes.attachment(mailbox(c, user), id, index);
      const headers: Record<string, string> = { 'content-type': a.contentType };
      if (a.filename) headers['content-disposition'] = `attachment; filename*=UTF-8''${encodeURIComponent(a.filename)}`;
      return c.body(new Uint8Array(a.content), 200, headers);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/mailboxes/{user}/messages/{id}',
      summary: 'Delete one message',
      security,
      request: { params: OneMessage },
      responses: { 200: json(Deleted, 'deleted'), ...Conflict, ...errorResponses },
    }),
    async (c) => {
      const { user, id } = c.req.valid('param');
      const name = mailbox(c, user);
      return c.json({ deleted: await mailboxes.delete(name, { ids: [id] }) }, 200);
    },
  );
}
