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

export type EventType = PostelEvent['type'];

export const EVENT_TYPES: readonly EventType[] = ['message.new', 'message.deleted', 'session.start', 'session.end', 'login.failed', 'store.resync'];

type Listener = (event: TimedEvent) => void;

/**
 * In-process publish/subscribe for what happens in the server. Each subscriber names the
 * event types it wants, so a publisher can ask whether anyone does: a POP3 worker forwards
 * to the main process only the types somebody there listens to (session events cross the
 * IPC channel only while an events stream is open, not twice for every login). Publishing
 * an unwanted type costs a lookup; a listener that throws is the listener's problem.
 */
export class EventBus {
  private readonly listeners = new Map<EventType, Set<Listener>>();
  private readonly interestWatchers = new Set<(types: ReadonlySet<EventType>) => Promise<void> | void>();
  /** What the watchers are still doing about the last change of interest. */
  private settling: Promise<unknown> = Promise.resolve();

  publish(event: PostelEvent): void {
    const listeners = this.listeners.get(event.type);
    if (listeners === undefined || listeners.size === 0) return;
    const timed: TimedEvent = { ...event, time: new Date().toISOString() };
    for (const listener of [...listeners]) {
      try {
        listener(timed);
      } catch {
        // A broken subscriber must not break delivery or a POP3 session.
      }
    }
  }

  /** `types`: what the listener wants (all types when left out). Returns the unsubscribe function. */
  subscribe(listener: Listener, types: Iterable<EventType> = EVENT_TYPES): () => void {
    const added: EventType[] = [];
    let changed = false;
    for (const type of new Set(types)) {
      let set = this.listeners.get(type);
      if (set === undefined) this.listeners.set(type, (set = new Set()));
      if (set.size === 0) changed = true;
      set.add(listener);
      added.push(type);
    }
    if (changed) this.interestChanged();
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      let gone = false;
      for (const type of added) {
        const set = this.listeners.get(type);
        if (set?.delete(listener) && set.size === 0) gone = true;
      }
      if (gone) this.interestChanged();
    };
  }

  /** The types somebody listens to now. */
  wanted(): ReadonlySet<EventType> {
    return new Set([...this.listeners].filter(([, set]) => set.size > 0).map(([type]) => type));
  }

  /**
   * `watcher` is told `wanted()` whenever it changes; the promise it may return is what
   * interestSettled() waits for. Returns the function that stops it.
   */
  watchInterest(watcher: (types: ReadonlySet<EventType>) => Promise<void> | void): () => void {
    this.interestWatchers.add(watcher);
    return () => this.interestWatchers.delete(watcher);
  }

  /**
   * Resolves once the watchers have acted on the interest as it is now (the POP3 workers
   * forward what was just subscribed to): a subscriber that promises its client it is
   * subscribed waits for this first.
   */
  async interestSettled(): Promise<void> {
    await this.settling;
  }

  private interestChanged(): void {
    const types = this.wanted();
    const acting = [...this.interestWatchers].map((watcher) => watcher(types));
    this.settling = Promise.allSettled(acting);
  }
}
