import { createRoute, z } from '@hono/zod-openapi';
import { createTransport } from 'nodemailer';
import type { PostelApp } from '../app.js';
import { requireAdmin } from '../context.js';
import { ApiError } from '../errors.js';
import { adminSecurity, errorResponses, json } from '../schemas.js';

export interface SendDeps {
  /** The SMTP (or LMTP) listener this process runs: sending goes through the normal intake. */
  readonly intake: () => { host: string; port: number; lmtp: boolean } | null;
  readonly hostname: string;
}

const Address = z.string().min(3).max(320).regex(/^[^\s<>@]+@[^\s<>@]+$/, 'an address like name@example.test');
const Attachment = z
  .object({
    filename: z.string().min(1).max(255),
    contentType: z.string().max(255).optional(),
    /** Base64. */
    content: z.string().max(20 * 1024 * 1024).regex(/^[A-Za-z0-9+/=\s]*$/, 'base64'),
  })
  .strict();
const SendRequest = z
  .object({
    from: Address,
    to: z.array(Address).min(1).max(100),
    cc: z.array(Address).max(100).optional(),
    bcc: z.array(Address).max(100).optional(),
    subject: z.string().max(998).default(''),
    text: z.string().optional(),
    html: z.string().optional(),
    attachments: z.array(Attachment).max(50).optional(),
    headers: z.record(z.string().regex(/^[!-9;-~]+$/, 'a header field name'), z.string().regex(/^[^\r\n]*$/, 'one line')).optional(),
  })
  .strict()
  .openapi('SendRequest');
const SendResult = z.object({ messageId: z.string(), accepted: z.array(z.string()), rejected: z.array(z.string()), response: z.string() }).openapi('SendResult');

/**
 * POST /api/v1/send: JSON to a MIME message (nodemailer's composer), handed to this
 * server's own SMTP listener, so it meets the same recipient checks, quotas, trace fields
 * and fsync as any other mail. Admin only.
 */
export function registerSend(app: PostelApp, deps: SendDeps): void {
  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/v1/send',
      summary: 'Compose a message from JSON and deliver it through the SMTP intake',
      security: adminSecurity,
      request: { body: { content: { 'application/json': { schema: SendRequest } }, required: true } },
      responses: {
        200: json(SendResult, 'accepted for at least one recipient'),
        422: json(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'refused by the intake for every recipient'),
        503: json(z.object({ error: z.object({ code: z.string(), message: z.string() }) }), 'no SMTP or LMTP listener runs'),
        ...errorResponses,
      },
    }),
    async (c) => {
      requireAdmin(c);
      const body = c.req.valid('json');
      const intake = deps.intake();
      if (!intake) throw new ApiError(503, 'no_intake', 'sending needs the SMTP or LMTP listener');
      const transport = createTransport({ host: intake.host, port: intake.port, lmtp: intake.lmtp, ignoreTLS: true, name: deps.hostname, connectionTimeout: 10_000 });
      try {
        const info = await transport.sendMail({
          from: body.from,
          to: body.to,
          ...(body.cc ? { cc: body.cc } : {}),
          ...(body.bcc ? { bcc: body.bcc } : {}),
          subject: body.subject,
          ...(body.text !== undefined ? { text: body.text } : {}),
          ...(body.html !== undefined ? { html: body.html } : {}),
          ...(body.headers ? { headers: body.headers } : {}),
          attachments: (body.attachments ?? []).map((a) => ({ filename: a.filename, content: Buffer.from(a.content, 'base64'), ...(a.contentType ? { contentType: a.contentType } : {}) })),
        });
        const addresses = (list: unknown[]): string[] => list.map((a) => (typeof a === 'string' ? a : (a as { address: string }).address));
        return c.json({ messageId: info.messageId, accepted: addresses(info.accepted), rejected: addresses(info.rejected), response: info.response }, 200);
      } catch (err) {
        const e = err as { responseCode?: number; response?: string; code?: string; message: string };
        if (e.responseCode !== undefined) throw new ApiError(422, 'refused', e.response ?? e.message);
        throw err;
      } finally {
        transport.close();
      }
    },
  );
}
