import { createRoute, z } from '@hono/zod-openapi';
import type { Users } from '../../auth/users.js';
import type { SessionRegistry } from '../../events/sessions.js';
import { quotaLimit } from '../../smtp/quota.js';
import type { MailStore } from '../../store/types.js';
import type { PostelApp } from '../app.js';
import { errorResponses, json, security } from '../schemas.js';

export interface MailboxOverviewDeps {
  readonly users: Users;
  readonly sessions: SessionRegistry;
  /** Each mailbox's size, as quotas count it. */
  readonly store: MailStore;
}

const Overview = z
  .object({
    user: z.string(),
    messages: z.number().int().nullable().openapi({ description: 'null when the mailbox cannot be read now (its store answers an error)' }),
    size: z.number().int().openapi({ description: 'octets stored' }),
    quota: z.number().int().nullable(),
    lastLogin: z.string().nullable().openapi({ description: 'the last POP3 login (ISO 8601), as the store remembers it; null: never' }),
    lockedBy: z
      .object({ session: z.string(), remote: z.string(), since: z.string() })
      .nullable()
      .openapi({ description: 'the POP3 session holding the maildrop lock (this server, POP3 workers included)' }),
  })
  .openapi('MailboxOverview');

/** One row per mailbox the caller may see, for the console's mailboxes page. */
export function registerMailboxOverview(app: PostelApp, deps: MailboxOverviewDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/mailboxes/overview',
      summary: 'Each visible mailbox with its message count, size, quota, last login and lock holder',
      security,
      responses: { 200: json(z.object({ mailboxes: z.array(Overview) }), 'the mailboxes'), ...errorResponses },
    }),
    async (c) => {
      const p = c.get('principal');
      const entries = (await deps.users.list()).filter((e) => p.kind === 'admin' || e.name === p.user);
      const holders = new Map(
        (await deps.sessions.all())
          .filter((s) => s.protocol === 'pop3' && s.user !== null && (s.state === 'TRANSACTION' || s.state === 'UPDATE'))
          .map((s) => [s.user, { session: s.id, remote: s.remote, since: s.startedAt }]),
      );
      const mailboxes = [];
      for (const entry of entries) {
        // A view takes no lock: the count is there while a POP3 session holds the maildrop.
        const messages = await deps.store.view(entry.name).then(
          (view) => view.messages.length,
          () => null,
        );
        const lastLogin = await deps.store.lastLogin(entry.name);
        mailboxes.push({ user: entry.name, messages, size: await deps.store.usage(entry.name), quota: quotaLimit(entry), lastLogin: lastLogin?.toISOString() ?? null, lockedBy: holders.get(entry.name) ?? null });
      }
      return c.json({ mailboxes }, 200);
    },
  );
}
