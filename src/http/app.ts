import { OpenAPIHono } from '@hono/zod-openapi';
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { auth as basicCredentials } from 'hono/utils/basic-auth';
import { constantTimeEqual } from '../auth/constant-time.js';
import { InvalidUserNameError } from '../auth/user-name.js';
import { StoreError } from '../store/errors.js';
import type { Logger } from '../log/logger.js';
import type { NetworkSet } from '../net/trusted-networks.js';
import { ApiError } from './errors.js';
import { isTls, remoteAddress, type HttpContext, type HttpEnv } from './context.js';
import type { HttpLogin } from './login.js';

export interface AppSecurity {
  readonly adminToken: string;
  readonly login: HttpLogin;
  /** Basic logins are accepted where POP3 accepts plaintext passwords. */
  readonly trustedNetworks: NetworkSet;
  readonly disablePlaintextAuth: boolean;
  /** Largest request body accepted, in bytes. */
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

export type PostelApp = OpenAPIHono<HttpEnv>;

export const CHALLENGE = 'Basic realm="postel", charset="UTF-8", Bearer realm="postel"';
export const SCRIPT_CHALLENGE = 'Bearer realm="postel"';

/**
 * The framework app with what every route shares: JSON errors, a body limit, and the
 * authentication of /api/v1/*. Routes are added by the route modules.
 */
export function createApp(security: AppSecurity): PostelApp {
  const app = new OpenAPIHono<HttpEnv>({
    // Schema failures (unknown fields, wrong types, bad path parameters) become our JSON 400.
    defaultHook: (result) => {
      if (!result.success) {
        const issue = result.error.issues[0];
        const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
        throw new ApiError(400, 'invalid_request', `${where}${issue?.message ?? 'invalid request'}`);
      }
      return undefined;
    },
  });
  const log = security.logger.child({ component: 'http' });

  app.onError((err, c) => {
    if (err instanceof ApiError) return c.json({ error: { code: err.code, message: err.message } }, err.status);
    if (err instanceof InvalidUserNameError) return c.json({ error: { code: 'invalid_user_name', message: err.message } }, 400);
    if (err instanceof StoreError && err.temporary) {
      // The database is down or restarting: worth a retry, and no internal detail.
      log.warn({ err, method: c.req.method, path: c.req.path }, 'store unavailable');
      c.header('Retry-After', '5');
      return c.json({ error: { code: 'unavailable', message: 'the store is temporarily unavailable; try again' } }, 503);
    }
    if (err instanceof HTTPException) {
      // Malformed JSON and the like: the framework's own 4xx, in our shape.
      const status = err.status;
      if (status >= 400 && status < 500) return c.json({ error: { code: 'invalid_request', message: err.message || 'invalid request' } }, status);
    }
    log.error({ err, method: c.req.method, path: c.req.path }, 'internal error in the HTTP API');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  app.notFound((c) => c.json({ error: { code: 'not_found', message: 'no such endpoint' } }, 404));

  // The challenge of every 401 (RFC 9110 section 11.6.1). A browser answers a Basic challenge
  // to its script's request with its own login dialog over the page, so a script that says so
  // (X-Requested-With: XMLHttpRequest, as the console does) is challenged for Bearer only,
  // which browsers leave to the script; other clients get both schemes.
  app.use('*', async (c, next) => {
    await next();
    if (c.res.status !== 401) return;
    const script = c.req.header('x-requested-with')?.toLowerCase() === 'xmlhttprequest';
    c.res.headers.set('WWW-Authenticate', script ? SCRIPT_CHALLENGE : CHALLENGE);
  });

  app.use(
    '*',
    bodyLimit({
      maxSize: security.maxBodyBytes,
      onError: (c) => c.json({ error: { code: 'too_large', message: `request bodies are limited to ${security.maxBodyBytes} bytes` } }, 413),
    }),
  );

  app.openAPIRegistry.registerComponent('securitySchemes', 'Bearer', { type: 'http', scheme: 'bearer', description: 'the admin token from DATA/admin-token' });
  app.openAPIRegistry.registerComponent('securitySchemes', 'Basic', { type: 'http', scheme: 'basic', description: "a user's own POP3 credentials (TLS or trusted networks only)" });

  app.use('/api/v1/*', async (c, next) => {
    if (c.req.path === '/api/v1/openapi.json') return next();
    c.set('principal', await authenticate(c, security));
    return next();
  });
  return app;
}

async function authenticate(c: HttpContext, security: AppSecurity): Promise<{ kind: 'admin' } | { kind: 'user'; user: string }> {
  const header = c.req.header('authorization') ?? '';
  const remote = remoteAddress(c);
  const secure = isTls(c) || security.trustedNetworks.has(remote);
  if (/^bearer /i.test(header)) {
    const token = header.slice(7).trim();
    const result = await security.login.bearer(constantTimeEqual(Buffer.from(token), Buffer.from(security.adminToken)), remote, secure);
    if (result.ok) return { kind: 'admin' };
    throw unauthorized(result.blocked ? 'too many failed logins; try again later' : 'wrong token');
  }
  const credentials = /^basic /i.test(header) ? basicCredentials(c.req.raw) : undefined;
  if (credentials) {
    if (!secure && security.disablePlaintextAuth) {
      throw new ApiError(403, 'plaintext_refused', 'passwords are accepted only over TLS or from trusted networks');
    }
    // An invalid name fails in the authenticator like an unknown one, and costs the same.
    const result = await security.login.basic(credentials.username, credentials.password, remote, secure);
    if (result.ok) return { kind: 'user', user: result.user };
    throw unauthorized(result.blocked ? 'too many failed logins; try again later' : 'wrong user name or password');
  }
  throw unauthorized('this needs Authorization: Bearer (admin token) or Basic (user credentials)');
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message);
}
