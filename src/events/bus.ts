import { EventEmitter } from 'node:events';

/** What the events stream (GET /api/v1/events) tells; `user` lets a user see only their own. */
export type PostelEvent =
  /** `size` (octets on the wire) is absent when a node of an older version delivered it. */
  | { readonly type: 'message.new'; readonly user: string; readonly size?: number }
  | { readonly type: 'message.deleted'; readonly user: string; readonly ids: readonly string[] }
  | { readonly type: 'session.start'; readonly protocol: 'pop3' | 'smtp'; readonly session: string; readonly remote: string }
  | { readonly type: 'session.end'; readonly protocol: 'pop3' | 'smtp'; readonly session: string; readonly remote: string; readonly user: string | null; readonly reason: string }
  | { readonly type: 'login.failed'; readonly protocol: 'pop3' | 'smtp' | 'http'; readonly user: string | null; readonly remote: string; readonly mechanism: string }
  /** Internal, not streamed: new-mail notifications may have been lost (a database reconnect); waiters look again. */
  | { readonly type: 'store.resync' };

export type TimedEvent = PostelEvent & { readonly time: string };

/**
 * In-process publish/subscribe for what happens in the server. Publishing costs nothing
 * when nobody listens; a listener that throws is the listener's problem, not the sender's.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every open events stream and every waiting long-poll is a listener.
    this.emitter.setMaxListeners(0);
  }

  publish(event: PostelEvent): void {
    if (this.emitter.listenerCount('event') === 0) return;
    const timed: TimedEvent = { ...event, time: new Date().toISOString() };
    for (const listener of this.emitter.listeners('event') as ((e: TimedEvent) => void)[]) {
      try {
        listener(timed);
      } catch {
        // A broken subscriber must not break delivery or a POP3 session.
      }
    }
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: (event: TimedEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
