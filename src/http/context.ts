import type { HttpBindings } from '@hono/node-server';
import type { Context } from 'hono';
import { ApiError } from './errors.js';

/** Who is asking: the admin token's holder, or a user with their own password. */
export type Principal = { readonly kind: 'admin' } | { readonly kind: 'user'; readonly user: string };

export type HttpEnv = { Bindings: HttpBindings; Variables: { principal: Principal } };

export type HttpContext = Context<HttpEnv>;

export function requireAdmin(c: HttpContext): void {
  if (c.get('principal').kind !== 'admin') throw new ApiError(403, 'forbidden', 'this needs the admin token');
}

/** The admin sees every mailbox; a user only their own (`user` is a canonical name). */
export function requireMailbox(c: HttpContext, user: string): void {
  const p = c.get('principal');
  if (p.kind === 'admin') return;
  if (p.user !== user) throw new ApiError(403, 'forbidden', 'a user sees only their own mailbox');
}

/** The client's address as the socket reports it (IPv4-mapped IPv6 shown as IPv4). */
export function remoteAddress(c: HttpContext): string {
  const raw = c.env.incoming.socket.remoteAddress ?? 'unknown';
  return raw.startsWith('::ffff:') ? raw.slice(7) : raw;
}

export function isTls(c: HttpContext): boolean {
  return (c.env.incoming.socket as { encrypted?: boolean }).encrypted === true;
}
