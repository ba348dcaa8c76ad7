import { createRoute, z } from '@hono/zod-openapi';
import { ChaosDisabledError, type Chaos, type ChaosRules } from '../../chaos/chaos.js';
import type { PostelApp } from '../app.js';
import { requireAdmin } from '../context.js';
import { ApiError } from '../errors.js';
import { adminSecurity, errorResponses, json } from '../schemas.js';

const VERBS = ['USER', 'PASS', 'APOP', 'AUTH', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'QUIT', 'CAPA', 'STLS'] as const;
const probability = z.number().min(0).max(1).default(1).openapi({ description: 'chance per occasion' });
const times = z.number().int().min(0).max(1_000_000).nullable().default(null).openapi({ description: 'strikes at most this often; null: always' });
const user = z.string().min(1).max(255).nullable().default(null).openapi({ description: "only this user's sessions; null: everyone" });

const ChaosSettings = z
  .object({
    pop3Errors: z
      .array(z.object({ command: z.enum(VERBS), code: z.enum(['IN-USE', 'LOGIN-DELAY', 'SYS/TEMP']), user, probability, times }).strict())
      .max(50)
      .default([]),
    retrDrop: z.object({ afterBytes: z.number().int().min(0), user, probability, times }).strict().nullable().default(null),
    trickle: z.object({ bytesPerSecond: z.number().int().min(1).max(1_000_000_000), user, probability, times }).strict().nullable().default(null),
    smtp: z
      .array(z.object({ stage: z.enum(['mail', 'rcpt', 'data']), code: z.number().int().min(400).max(599), probability, times }).strict())
      .max(50)
      .default([]),
  })
  .strict()
  .openapi('Chaos');

type Settings = z.infer<typeof ChaosSettings>;

function toRules(s: Settings): ChaosRules {
  const countdown = <T extends { times: number | null }>(r: T): Omit<T, 'times'> & { remaining: number | null } => {
    const { times: n, ...rest } = r;
    return { ...rest, remaining: n };
  };
  return {
    pop3Errors: s.pop3Errors.map(countdown),
    retrDrop: s.retrDrop ? countdown(s.retrDrop) : null,
    trickle: s.trickle ? countdown(s.trickle) : null,
    smtp: s.smtp.map(countdown),
  };
}

function fromRules(r: ChaosRules): Settings {
  const back = <T extends { remaining: number | null }>(x: T): Omit<T, 'remaining'> & { times: number | null } => {
    const { remaining, ...rest } = x;
    return { ...rest, times: remaining };
  };
  return {
    // Every rule came in through ChaosSettings, so its command is one of VERBS.
    pop3Errors: r.pop3Errors.map(back) as Settings['pop3Errors'],
    retrDrop: r.retrDrop ? back(r.retrDrop) : null,
    trickle: r.trickle ? back(r.trickle) : null,
    smtp: r.smtp.map(back),
  };
}

const Conflict = { 409: json(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'chaos is off ([chaos] enabled = false)') };

/** The chaos switch: faults on demand in POP3 and SMTP, for testing clients. Admin only. */
export function registerChaos(app: PostelApp, chaos: Chaos): void {
  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/chaos', summary: 'The faults injected now (`times`: strikes left)', security: adminSecurity, responses: { 200: json(ChaosSettings, 'the rules'), ...errorResponses } }),
    (c) => {
      requireAdmin(c);
      return c.json(fromRules(chaos.current), 200);
    },
  );
  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/chaos',
      summary: 'Replace the faults: POP3 errors on a command, RETR dropped after N octets, trickled messages, SMTP replies',
      security: adminSecurity,
      request: { body: { content: { 'application/json': { schema: ChaosSettings } }, required: true } },
      responses: { 200: json(ChaosSettings, 'the rules now'), ...Conflict, ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      try {
        chaos.set(toRules(c.req.valid('json')));
      } catch (err) {
        if (err instanceof ChaosDisabledError) throw new ApiError(409, 'chaos_disabled', err.message);
        throw err;
      }
      // With pop3.workers, the rules hold in every worker before the answer.
      await chaos.applied();
      return c.json(fromRules(chaos.current), 200);
    },
  );
  app.openapi(
    createRoute({ method: 'delete', path: '/api/v1/chaos', summary: 'Stop injecting faults', security: adminSecurity, responses: { 204: { description: 'cleared' }, ...errorResponses } }),
    async (c) => {
      requireAdmin(c);
      chaos.clear();
      await chaos.applied();
      return c.body(null, 204);
    },
  );
}
