import type { Readable } from 'node:stream';
import type { EventBus } from '../events/bus.js';
import type { WireSource } from '../message/wire-source.js';
import type { CommitChanges, DeliveryMeta, DeliveryResult, MailStore, Maildrop, MaildropView, MessageInfo, NewMailHandlers, OpenOptions, WireOptions } from '../store/types.js';
import type { Metrics } from './metrics.js';

/**
 * A MailStore that times deliver, open and commit for the metrics and publishes
 * message.new and message.deleted, whoever delivered or deleted (SMTP, POP3, the HTTP
 * API, `postel dev`). Everything else passes straight through.
 */
export class ObservedStore implements MailStore {
  constructor(
    private readonly inner: MailStore,
    private readonly metrics: Metrics,
    private readonly events: EventBus,
  ) {}

  async deliver(user: string, message: Readable | Uint8Array, meta?: DeliveryMeta): Promise<DeliveryResult> {
    const result = await this.metrics.timeStore('deliver', () => this.inner.deliver(user, message, meta));
    this.events.publish({ type: 'message.new', user, size: result.size });
    return result;
  }

  async openMaildrop(user: string, options?: OpenOptions): Promise<Maildrop> {
    const maildrop = await this.metrics.timeStore('open', () => this.inner.openMaildrop(user, options));
    return new ObservedMaildrop(maildrop, this.metrics, this.events);
  }

  view(user: string): Promise<MaildropView> {
    return this.metrics.timeStore('view', () => this.inner.view(user));
  }

  lastLogin(user: string): Promise<Date | null> {
    return this.inner.lastLogin(user);
  }

  /**
   * Publishes message.new for mail others deliver (other nodes on PostgreSQL), as for this
   * process's deliveries, and store.resync when notifications may have been lost.
   */
  publishOthersMail(): Promise<() => Promise<void>> {
    return this.watchNewMail({
      onMail: (user, size) => this.events.publish({ type: 'message.new', user, ...(size === undefined ? {} : { size }) }),
      onResync: () => this.events.publish({ type: 'store.resync' }),
    });
  }

  watchNewMail(handlers: NewMailHandlers): Promise<() => Promise<void>> {
    return this.inner.watchNewMail(handlers);
  }

  usage(user: string): Promise<number> {
    return this.inner.usage(user);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class ObservedMaildrop implements Maildrop {
  constructor(
    private readonly inner: Maildrop,
    private readonly metrics: Metrics,
    private readonly events: EventBus,
  ) {}

  get user(): string {
    return this.inner.user;
  }

  get messages(): readonly MessageInfo[] {
    return this.inner.messages;
  }

  get lastLoginAt(): Date | null {
    return this.inner.lastLoginAt;
  }

  recordLogin(at: Date, options?: { readonly durable?: boolean }): Promise<void> {
    return this.inner.recordLogin(at, options);
  }

  openMessage(index: number): Promise<Readable> {
    return this.inner.openMessage(index);
  }

  openWire(index: number, options?: WireOptions): Promise<WireSource> {
    return this.inner.openWire(index, options);
  }

  async commit(changes: CommitChanges): Promise<void> {
    const ids = [...changes.deleted].map((i) => this.inner.messages[i]?.uid).filter((uid): uid is string => uid !== undefined);
    await this.metrics.timeStore('commit', () => this.inner.commit(changes));
    if (ids.length > 0) this.events.publish({ type: 'message.deleted', user: this.inner.user, ids });
  }

  release(): Promise<void> {
    return this.inner.release();
  }
}
