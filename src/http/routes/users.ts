import { createRoute, z } from '@hono/zod-openapi';
import { normalizeUserName } from '../../auth/user-name.js';
import { UnknownUserError, UnstorablePasswordError, UserExistsError, UsersFileLockError, type PasswordOptions } from '../../auth/users-file.js';
import type { Users } from '../../auth/users.js';
import { quotaLimit } from '../../smtp/quota.js';
import type { MailStore } from '../../store/types.js';
import type { PostelApp } from '../app.js';
import { requireAdmin } from '../context.js';
import { ApiError } from '../errors.js';
import { adminSecurity, errorResponses, json, UserName } from '../schemas.js';

export interface UsersDeps {
  readonly users: Users;
  /** How `postel user add/passwd` would store a new password (runtime.newPasswordOptions). */
  readonly passwordOptions: (scheme?: 'SCRYPT' | 'PLAIN') => PasswordOptions;
  /** For each user's usage, as quotas count it. */
  readonly store: MailStore;
}

const User = z.object({ name: z.string(), quota: z.number().int().nullable(), usage: z.number().int() }).openapi('User');
const NewUser = z
  .object({
    name: UserName,
    password: z.string().min(1).max(1024),
    scheme: z.enum(['SCRYPT', 'PLAIN']).optional().openapi({ description: 'PLAIN is needed for APOP and CRAM-MD5' }),
  })
  .strict()
  .openapi('NewUser');
const Password = z.object({ password: z.string().min(1).max(1024), scheme: z.enum(['SCRYPT', 'PLAIN']).optional() }).strict().openapi('PasswordChange');
const Quota = z.object({ bytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().openapi({ description: 'null or 0: no limit' }) }).strict().openapi('Quota');
const NameParam = z.object({ name: UserName.openapi({ param: { name: 'name', in: 'path' } }) });

/** The users (file or PostgreSQL table), through the same Users calls as `postel user`. Admin only. */
export function registerUsers(app: PostelApp, deps: UsersDeps): void {
  const describe = async (name: string): Promise<z.infer<typeof User>> => {
    const entry = await deps.users.lookup(name);
    if (!entry) throw new UnknownUserError(name);
    return { name: entry.name, quota: quotaLimit(entry), usage: await deps.store.usage(entry.name) };
  };

  app.openapi(
    createRoute({ method: 'get', path: '/api/v1/users', summary: 'List users', security: adminSecurity, responses: { 200: json(z.object({ users: z.array(User) }), 'users'), ...errorResponses } }),
    async (c) => {
      requireAdmin(c);
      const users = await Promise.all((await deps.users.list()).map((e) => describe(e.name)));
      return c.json({ users }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/users',
      summary: 'Add a user',
      security: adminSecurity,
      request: { body: { content: { 'application/json': { schema: NewUser } }, required: true } },
      responses: { 201: json(User, 'added'), 409: json(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'exists'), ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      const body = c.req.valid('json');
      await mapUserErrors(() => deps.users.add(body.name, body.password, deps.passwordOptions(body.scheme)));
      return c.json(await describe(normalizeUserName(body.name)), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/users/{name}/password',
      summary: "Change a user's password",
      security: adminSecurity,
      request: { params: NameParam, body: { content: { 'application/json': { schema: Password } }, required: true } },
      responses: { 204: { description: 'changed' }, ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      const { name } = c.req.valid('param');
      const body = c.req.valid('json');
      await mapUserErrors(() => deps.users.setPassword(name, body.password, deps.passwordOptions(body.scheme)));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/v1/users/{name}/quota',
      summary: "Set a user's storage quota",
      security: adminSecurity,
      request: { params: NameParam, body: { content: { 'application/json': { schema: Quota } }, required: true } },
      responses: { 200: json(User, 'the user with the new quota'), ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      const { name } = c.req.valid('param');
      await mapUserErrors(() => deps.users.setQuota(name, c.req.valid('json').bytes));
      return c.json(await describe(normalizeUserName(name)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/v1/users/{name}',
      summary: 'Remove a user (the maildrop stays on disk)',
      security: adminSecurity,
      request: { params: NameParam },
      responses: { 204: { description: 'removed' }, ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      await mapUserErrors(() => deps.users.remove(c.req.valid('param').name));
      return c.body(null, 204);
    },
  );
}

async function mapUserErrors(work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (err instanceof UserExistsError) throw new ApiError(409, 'user_exists', err.message);
    if (err instanceof UnknownUserError) throw new ApiError(404, 'not_found', err.message);
    if (err instanceof UnstorablePasswordError) throw new ApiError(400, 'unstorable_password', err.message);
    if (err instanceof UsersFileLockError) throw new ApiError(503, 'users_file_busy', err.message);
    throw err;
  }
}
