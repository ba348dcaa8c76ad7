import { createRoute, z } from '@hono/zod-openapi';
import { RECENT_FAILURES, type AuthPolicy } from '../../auth/policy.js';
import type { PostelApp } from '../app.js';
import { requireAdmin } from '../context.js';
import { adminSecurity, errorResponses, json } from '../schemas.js';

const FailedLogin = z
  .object({
    at: z.string().openapi({ description: 'when the attempt began (ISO 8601)' }),
    address: z.string(),
    user: z.string().nullable().openapi({ description: 'the name as the client typed it; null when none was given' }),
    door: z.string().openapi({ description: 'pop3, smtp (submission) or http' }),
    blocked: z.boolean().openapi({ description: 'refused unchecked: the address was over its failure budget' }),
  })
  .openapi('FailedLogin');

/** The AuthPolicy's memory of failed logins, for the console's sessions page. Admin only. */
export function registerAuthFailures(app: PostelApp, policy: AuthPolicy): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/auth/failures',
      summary: `The last ${RECENT_FAILURES} failed logins over POP3, submission and HTTP, newest first (this process's memory: a restart forgets)`,
      security: adminSecurity,
      responses: { 200: json(z.object({ failures: z.array(FailedLogin) }).openapi('FailedLogins'), 'the failures'), ...errorResponses },
    }),
    (c) => {
      requireAdmin(c);
      return c.json({ failures: policy.recentFailures().map((f) => ({ ...f, at: f.at.toISOString() })) }, 200);
    },
  );
}
