import { createRoute, z } from '@hono/zod-openapi';
import { SessionRegistry } from '../../events/sessions.js';
import type { PostelApp } from '../app.js';
import { requireAdmin } from '../context.js';
import { ApiError } from '../errors.js';
import { adminSecurity, errorResponses, json } from '../schemas.js';

const Session = z
  .object({
    protocol: z.enum(['pop3', 'smtp']),
    id: z.string(),
    remote: z.string(),
    startedAt: z.string(),
    user: z.string().nullable(),
    state: z.string(),
    tls: z.boolean().nullable(),
    bytesIn: z.number().int().nullable().openapi({ description: 'octets from the client so far' }),
    bytesOut: z.number().int().nullable().openapi({ description: 'octets to the client so far' }),
    commands: z.number().int().nullable().openapi({ description: 'command lines the client sent so far' }),
  })
  .openapi('Session');

export function registerSessions(app: PostelApp, sessions: SessionRegistry): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/sessions',
      summary: 'Who is connected over POP3 and SMTP now, and which maildrops are locked',
      security: adminSecurity,
      responses: { 200: json(z.object({ sessions: z.array(Session), lockedMaildrops: z.array(z.string()) }).openapi('Sessions'), 'the sessions'), ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      const all = await sessions.all();
      return c.json({ sessions: all, lockedMaildrops: SessionRegistry.lockedMaildrops(all) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/sessions/{id}',
      summary: 'End a session without committing it (POP3: -ERR [SYS/TEMP]; SMTP: 421)',
      security: adminSecurity,
      request: { params: z.object({ id: z.string().regex(/^[A-Za-z0-9+/=_-]{1,64}$/).openapi({ param: { name: 'id', in: 'path' } }) }) },
      responses: { 204: { description: 'ended' }, ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      if (!(await sessions.end(c.req.valid('param').id))) throw new ApiError(404, 'not_found', 'no such session');
      return c.body(null, 204);
    },
  );
}
