import { createRoute, z } from '@hono/zod-openapi';
import type { CertificateInfo } from '../../tls/certificates.js';
import type { PostelApp } from '../app.js';
import { requireAdmin } from '../context.js';
import { adminSecurity, errorResponses, json } from '../schemas.js';

/** One listening socket. */
export interface ListeningPort {
  readonly service: 'pop3' | 'pop3s' | 'smtp' | 'lmtp' | 'submission' | 'http';
  /** host:port ([v6]:port), or a unix socket's path. */
  readonly where: string;
  readonly port: number | null;
  /** implicit: TLS from the first byte; starttls: offered on request (STLS, STARTTLS); none. */
  readonly tls: 'implicit' | 'starttls' | 'none';
}

export interface ServerInfoDeps {
  readonly listening: () => readonly ListeningPort[];
  readonly certificates: () => readonly CertificateInfo[];
  readonly storeKind: 'maildir' | 'postgres';
  /** Every mailbox's stored octets, summed; and how many mailboxes. */
  readonly storeSize: () => Promise<{ readonly bytes: number; readonly mailboxes: number }>;
  readonly chaosEnabled: boolean;
  readonly startedAt: Date;
}

const ServerInfo = z
  .object({
    startedAt: z.string(),
    listening: z.array(
      z.object({
        service: z.enum(['pop3', 'pop3s', 'smtp', 'lmtp', 'submission', 'http']),
        where: z.string(),
        port: z.number().int().nullable(),
        tls: z.enum(['implicit', 'starttls', 'none']),
      }),
    ),
    certificates: z.array(
      z.object({
        file: z.string(),
        default: z.boolean(),
        names: z.array(z.string()),
        subject: z.string(),
        issuer: z.string(),
        validFrom: z.string(),
        validTo: z.string(),
        daysLeft: z.number().int().openapi({ description: 'whole days until validTo (negative: expired)' }),
        fingerprint256: z.string(),
      }),
    ),
    store: z.object({ kind: z.enum(['maildir', 'postgres']), bytes: z.number().int(), mailboxes: z.number().int() }),
    chaosEnabled: z.boolean(),
  })
  .openapi('ServerInfo');

const DAY_MS = 86_400_000;

/** What the console's server page shows besides the charts: ports, certificates, store. Admin only. */
export function registerServerInfo(app: PostelApp, deps: ServerInfoDeps): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/server',
      summary: 'Listening ports, TLS certificates in use (names, expiry), store kind and size, whether chaos is enabled',
      security: adminSecurity,
      responses: { 200: json(ServerInfo, 'the server'), ...errorResponses },
    }),
    async (c) => {
      requireAdmin(c);
      const now = Date.now();
      const size = await deps.storeSize();
      return c.json(
        {
          startedAt: deps.startedAt.toISOString(),
          listening: [...deps.listening()],
          certificates: deps.certificates().map((cert) => ({
            ...cert,
            names: [...cert.names],
            validFrom: cert.validFrom.toISOString(),
            validTo: cert.validTo.toISOString(),
            daysLeft: Math.floor((cert.validTo.getTime() - now) / DAY_MS),
          })),
          store: { kind: deps.storeKind, bytes: size.bytes, mailboxes: size.mailboxes },
          chaosEnabled: deps.chaosEnabled,
        },
        200,
      );
    },
  );
}
