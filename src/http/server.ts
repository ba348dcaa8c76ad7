import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { TlsOptions } from 'node:tls';
import { createApp, type AppSecurity, type PostelApp } from './app.js';
import { registerConsole } from './console.js';
import { registerHealth, type HealthDeps } from './routes/health.js';
import { registerMessages, type MessagesDeps } from './routes/messages.js';
import { registerUsers, type UsersDeps } from './routes/users.js';

export interface HttpListenerSpec {
  readonly host: string;
  readonly port: number;
  /** TLS options (the POP3 certificates); without them the listener is plain HTTP. */
  readonly tls?: () => Promise<TlsOptions>;
}

export type HttpDeps = AppSecurity & HealthDeps & UsersDeps & MessagesDeps & {
  /** More routes (sessions, chaos, send, events, autoconfig), added after the core ones. */
  readonly extraRoutes?: readonly ((app: PostelApp) => void)[];
};

export const OPENAPI_PATH = '/api/v1/openapi.json';

/** The whole app: core routes, extra routes, and the OpenAPI document generated from them. */
export function buildHttpApp(deps: HttpDeps): PostelApp {
  const app = createApp(deps);
  registerHealth(app, deps);
  registerUsers(app, deps);
  registerMessages(app, deps);
  for (const add of deps.extraRoutes ?? []) add(app);
  registerConsole(app);
  app.doc31(OPENAPI_PATH, { openapi: '3.1.0', info: { title: 'postel HTTP API', version: '1' } });
  return app;
}

/** The HTTP listener: the app on node:http, or node:https with the POP3 certificates. */
export class HttpService {
  private server: ServerType | undefined;

  constructor(
    /** Any Hono app: the API, or a bare one (fetch's /metrics). */
    private readonly app: { readonly fetch: PostelApp['fetch'] },
    private readonly spec: HttpListenerSpec,
  ) {}

  get secure(): boolean {
    return this.spec.tls !== undefined;
  }

  async listen(): Promise<AddressInfo> {
    const tls = this.spec.tls ? await this.spec.tls() : undefined;
    return new Promise((resolve, reject) => {
      const server = serve(
        {
          fetch: this.app.fetch,
          hostname: this.spec.host,
          port: this.spec.port,
          ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
        },
        (info) => resolve(info),
      );
      server.once('error', reject);
      this.server = server;
    });
  }

  /** Stops accepting and ends open connections (event streams and long polls included). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    });
  }
}

/** Loopback needs no TLS; anything else gets the certificates. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
