import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { EventBus, EventType, TimedEvent } from '../../events/bus.js';
import type { PostelApp } from '../app.js';
import type { Principal } from '../context.js';
import { errorResponses, security } from '../schemas.js';

const STREAMED_TYPES = ['message.new', 'message.deleted', 'session.start', 'session.end', 'login.failed'] as const;
/** What a user (not the admin) may see: their own mailbox's events. */
const USER_TYPES: ReadonlySet<EventType> = new Set(['message.new', 'message.deleted']);

/** Events queued for one slow client before it is cut off: a stream must not grow memory. */
const MAX_PENDING = 1000;

/** A user sees only what happens to their own mailbox; the admin sees everything. */
function visible(principal: Principal, event: TimedEvent): boolean {
  if (principal.kind === 'admin') return true;
  return (event.type === 'message.new' || event.type === 'message.deleted') && event.user === principal.user;
}

export function registerEvents(app: PostelApp, events: EventBus): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/events',
      summary: 'Server-Sent Events: message.new, message.deleted, session.start, session.end, login.failed',
      security,
      request: {
        query: z
          .object({
            types: z
              .string()
              .regex(new RegExp(`^(${STREAMED_TYPES.join('|').replace(/\./g, '\\.')})(,(${STREAMED_TYPES.join('|').replace(/\./g, '\\.')}))*$`), 'a comma-separated list of event types')
              .optional()
              .openapi({ param: { name: 'types', in: 'query' }, example: 'message.new,login.failed' }),
          })
          .strict(),
      },
      responses: { 200: { description: 'an event stream; each event is JSON in `data`, its type in `event`', content: { 'text/event-stream': { schema: z.string() } } }, ...errorResponses },
    }),
    (c) => {
      const principal = c.get('principal');
      const { types } = c.req.valid('query');
      const asked = (types ? types.split(',') : STREAMED_TYPES) as EventType[];
      // Subscribing only to what this principal may see keeps other events where they happen
      // (a POP3 worker does not forward session events for a user's stream).
      const wanted = new Set(asked.filter((type) => principal.kind === 'admin' || USER_TYPES.has(type)));
      return streamSSE(c, async (stream) => {
        const pending: TimedEvent[] = [];
        let wake: (() => void) | undefined;
        const unsubscribe = events.subscribe((event) => {
          if (!visible(principal, event)) return;
          if (pending.length >= MAX_PENDING) {
            void stream.close();
            return;
          }
          pending.push(event);
          wake?.();
        }, wanted);
        let closed = false;
        stream.onAbort(() => {
          closed = true;
          wake?.();
        });
        try {
          // A first comment tells the client the stream is open and subscribed, in every
          // process: what happens after it reaches the stream.
          await events.interestSettled();
          await stream.write(': subscribed\n\n');
          while (!closed) {
            const event = pending.shift();
            if (event) {
              await stream.writeSSE({ event: event.type, data: JSON.stringify(event) });
              continue;
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
              // A keep-alive comment now and then lets proxies and clients see a live stream.
              setTimeout(resolve, 15_000).unref();
            });
            wake = undefined;
            if (pending.length === 0 && !closed) await stream.write(': keep-alive\n\n');
          }
        } finally {
          unsubscribe();
        }
      });
    },
  );
}
