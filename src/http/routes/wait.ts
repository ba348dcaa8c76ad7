import { createRoute, z } from '@hono/zod-openapi';
import type { Users } from '../../auth/users.js';
import type { EventBus } from '../../events/bus.js';
import type { PostelApp } from '../app.js';
import type { Mailboxes } from '../mailboxes.js';
import { errorResponses, json } from '../schemas.js';
import { security } from '../schemas.js';
import { firstCode, firstLink, waitForMessage } from '../wait.js';
import { messageJson, Parsed } from './messages.js';

const WaitQuery = z
  .object({
    to: z.string().max(320).optional().openapi({ param: { name: 'to', in: 'query' }, description: 'part of the To field' }),
    subject: z.string().max(998).optional().openapi({ param: { name: 'subject', in: 'query' }, description: 'part of the subject' }),
    query: z.string().max(1000).optional().openapi({ param: { name: 'query', in: 'query' }, description: 'more search terms, as for listing' }),
    timeout: z.coerce.number().min(0).max(300).default(30).openapi({ param: { name: 'timeout', in: 'query' }, description: 'seconds to wait (at most 300)' }),
  })
  .strict();

const quote = (value: string): string => `"${value.replace(/"/g, '')}"`;

export interface WaitDeps {
  readonly mailboxes: Mailboxes;
  readonly events: EventBus;
  readonly users: Users;
  /** How often to look at every mailbox for mail no event announces (see waitForMessage); undefined: never. */
  readonly rescanMs?: number;
}

export function registerWait(app: PostelApp, deps: WaitDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/messages/wait',
      summary: 'Wait until a matching message is there; with the first link and numeric code in it',
      security,
      request: { query: WaitQuery },
      responses: {
        200: json(z.object({ user: z.string(), message: Parsed, link: z.string().nullable(), code: z.string().nullable() }).openapi('WaitResult'), 'the newest matching message'),
        408: json(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'no matching message in time'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const principal = c.get('principal');
      const query = [q.to ? `to:${quote(q.to)}` : '', q.subject ? `subject:${quote(q.subject)}` : '', q.query ?? ''].filter(Boolean).join(' ');
      const found = await waitForMessage(deps.mailboxes, deps.events, {
        users: async () => (principal.kind === 'admin' ? (await deps.users.list()).map((e) => e.name) : [principal.user]),
        query,
        timeoutMs: q.timeout * 1000,
        signal: c.req.raw.signal,
        ...(deps.rescanMs === undefined ? {} : { rescanMs: deps.rescanMs }),
      });
      if (!found) return c.json({ error: { code: 'timeout', message: `no matching message within ${q.timeout} s` } }, 408);
      return c.json({ user: found.user, message: messageJson(found.message), link: firstLink(found.message), code: firstCode(found.message) }, 200);
    },
  );
}
