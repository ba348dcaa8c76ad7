import { z } from '@hono/zod-openapi';

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi('Error');

/** The error responses every authenticated route can give. */
export const errorResponses = {
  400: { description: 'Bad input', content: { 'application/json': { schema: ErrorSchema } } },
  401: { description: 'No or wrong credentials', content: { 'application/json': { schema: ErrorSchema } } },
  403: { description: 'Not allowed for these credentials', content: { 'application/json': { schema: ErrorSchema } } },
  404: { description: 'No such thing', content: { 'application/json': { schema: ErrorSchema } } },
} as const;

export const security: Record<string, string[]>[] = [{ Bearer: [] }, { Basic: [] }];
export const adminSecurity: Record<string, string[]>[] = [{ Bearer: [] }];

/** A user name; normalizeUserName (the users file's rule) decides in the handler. */
export const UserName = z.string().min(1).max(255).openapi({ example: 'alice' });

/** A UIDL (RFC 1939: 1-70 characters 0x21-0x7E) or `latest`. */
export const MessageId = z
  .string()
  .regex(/^[\x21-\x7e]{1,70}$/, 'a UIDL or latest')
  .openapi({ example: 'latest' });

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
