import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import type { LocalDelivery } from '../local-delivery.js';
import type { RecipientResolver } from '../recipients.js';
import { withPrefix } from '../spool.js';
import { deliveredToHeader, returnPathHeader } from '../trace-headers.js';
import { bounceMessage, readHeaderBlock, type FailedRecipient } from './dsn.js';
import type { QueueEntry, QueueRecipient, QueueStore } from './queue-store.js';
import type { Relay } from './smarthost.js';

/** A queue file this old without its partner was not written by an add() still running. */
const QUEUE_DEBRIS_AGE_MS = 15 * 60 * 1000;

export interface OutboundQueueOptions {
  readonly store: QueueStore;
  readonly local: LocalDelivery;
  readonly resolver: RecipientResolver;
  /** The smarthost; without one, only local retries and local bounces are queued. */
  readonly relay?: Relay;
  readonly hostname: string;
  /** Waits before the 1st, 2nd, ... retry; the last repeats. */
  readonly retryIntervalsMs: readonly number[];
  /** Age after which what is still undelivered is bounced. */
  readonly maxAgeMs: number;
  readonly logger: Logger;
  /** How often due entries are looked for when nothing kicks the queue. Default 30 s. */
  readonly pollMs?: number;
  readonly now?: () => Date;
}

export interface QueuedRecipient {
  readonly address: string;
  /** Set for a local maildrop; unset to send through the smarthost. */
  readonly user?: string;
}

/**
 * Mail this server has taken responsibility for but not yet stored: messages for the
 * smarthost, local copies whose first delivery failed temporarily, and bounces. Entries
 * survive restarts (QueueStore); one pass at a time tries every due entry, retries on the
 * configured schedule and bounces to the sender what fails for good or for too long.
 */
export class OutboundQueue {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private readonly now: () => Date;

  constructor(private readonly options: OutboundQueueOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Whether mail for other domains can be accepted (a smarthost is configured). */
  get canRelay(): boolean {
    return this.options.relay !== undefined;
  }

  /** Stores a message durably for later delivery and starts a pass. */
  async enqueue(from: string, recipients: readonly QueuedRecipient[], message: Readable): Promise<QueueEntry> {
    const now = this.now().toISOString();
    const entry = await this.options.store.add(
      { from, createdAt: now, attempts: 0, nextAttemptAt: now, recipients: recipients.map((r) => ({ ...r, state: 'pending' as const })) },
      message,
    );
    this.options.logger.info({ event: 'queued', id: entry.id, from, rcpts: recipients.length }, 'message queued');
    this.kick();
    return entry;
  }

  /** Sends a DSN about `failed` to `sender`; nothing for the null sender (no bounce of a bounce). */
  async bounce(sender: string, failed: readonly FailedRecipient[], originalHeaders: string, arrivedAt: Date): Promise<void> {
    if (sender === '' || failed.length === 0) return;
    const route = await this.options.resolver.resolve(sender);
    let to: QueuedRecipient[];
    if (route.kind === 'local') {
      to = [...route.users.map((user) => ({ address: sender, user })), ...(this.canRelay ? route.forward.map((address) => ({ address })) : [])];
    } else if (route.kind === 'remote' && this.canRelay) {
      to = [{ address: sender }];
    } else {
      this.options.logger.warn({ event: 'bounce_dropped', sender, rcpts: failed.map((f) => f.address) }, 'no way to return a bounce to the sender');
      return;
    }
    if (to.length === 0) return;
    const text = bounceMessage({ hostname: this.options.hostname, to: sender, failed, arrivedAt, now: this.now(), originalHeaders });
    await this.enqueue('', to, Readable.from([Buffer.from(text, 'utf8')]));
  }

  start(): void {
    this.stopped = false;
    void this.settleOrphans().catch((err: unknown) => this.options.logger.warn({ err }, 'queue sweep failed'));
    this.kick();
  }

  /**
   * An entry whose message file is gone (removed by hand, lost to a disk fault) can never be
   * delivered: its pending recipients are bounced at once (headers unknown), and it is removed,
   * instead of being retried until it expires.
   */
  private async settleOrphans(): Promise<void> {
    for (const entry of await this.options.store.sweep(QUEUE_DEBRIS_AGE_MS, this.options.logger)) {
      const pending = entry.recipients.filter((r) => r.state === 'pending');
      this.options.logger.error({ event: 'queue_entry_without_message', id: entry.id, rcpts: pending.map((r) => r.address) }, 'queue entry has lost its message file; returning it to the sender');
      await this.bounce(
        entry.from,
        pending.map((r) => ({ address: r.address, status: '5.3.0', diagnostic: 'the queued message file was lost on the server' })),
        '',
        new Date(Date.parse(entry.createdAt) || this.now().getTime()),
      );
      await this.options.store.remove(entry.id);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pass;
    this.options.relay?.close();
  }

  /** Runs a pass now (or right after the current one). */
  kick(): void {
    if (this.stopped) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pass = this.runPass()
      .catch((err: unknown) => this.options.logger.error({ err }, 'queue pass failed'))
      .finally(() => {
        this.pass = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
          return;
        }
        this.timer = setTimeout(() => this.kick(), this.options.pollMs ?? 30_000);
        this.timer.unref();
      });
  }

  /** Resolves when the queue has nothing due (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.pass) await this.pass;
  }

  private async runPass(): Promise<void> {
    for (const entry of await this.options.store.list()) {
      if (this.stopped) return;
      if (Date.parse(entry.nextAttemptAt) > this.now().getTime()) continue;
      try {
        await this.attempt(entry);
      } catch (err) {
        this.options.logger.error({ err, id: entry.id }, 'queue entry could not be processed');
      }
    }
  }

  private async attempt(entry: QueueEntry): Promise<void> {
    const path = this.options.store.messagePath(entry.id);
    const size = (await stat(path)).size;
    const createdAt = new Date(entry.createdAt);
    const newlyFailed: QueueRecipient[] = [];
    const pending = entry.recipients.filter((r) => r.state === 'pending');

    for (const r of pending.filter((p) => p.user !== undefined)) {
      // The queued file already starts with its Received field.
      const trace = returnPathHeader(entry.from) + deliveredToHeader(r.address);
      const outcome = await this.options.local.deliver(r.user as string, () => withPrefix('', path), trace, size, createdAt);
      if (outcome.ok) r.state = 'delivered';
      else {
        r.status = outcome.reply.enhanced;
        r.diagnostic = outcome.reply.message.replace(/^\S+ /, `${outcome.reply.code} ${outcome.reply.enhanced} `);
        if (!outcome.reply.temporary) {
          r.state = 'failed';
          newlyFailed.push(r);
        }
      }
    }

    const remote = pending.filter((p) => p.user === undefined);
    if (remote.length > 0) {
      if (this.options.relay === undefined) {
        for (const r of remote) {
          r.status = '4.3.5';
          r.diagnostic = 'no smarthost is configured';
        }
      } else {
        const results = await this.options.relay.send(entry.from, remote.map((r) => r.address), path);
        for (const res of results) {
          const r = remote.find((x) => x.address === res.address);
          if (!r) continue;
          if (res.ok) {
            r.state = 'delivered';
            continue;
          }
          r.status = res.status;
          r.diagnostic = res.diagnostic;
          if (res.permanent) {
            r.state = 'failed';
            newlyFailed.push(r);
          }
        }
      }
    }

    entry.attempts++;
    const left = entry.recipients.filter((r) => r.state === 'pending');
    if (left.length > 0 && this.now().getTime() - createdAt.getTime() >= this.options.maxAgeMs) {
      for (const r of left) {
        r.state = 'failed';
        r.diagnostic = `delivery time expired; last problem: ${r.diagnostic ?? 'unknown'}`;
        r.status = '4.4.7';
        newlyFailed.push(r);
      }
    }
    for (const r of entry.recipients) {
      if (r.state !== 'pending') this.options.logger.info({ event: r.state === 'delivered' ? 'queue_delivered' : 'queue_failed', id: entry.id, rcpt: r.address, status: r.status, diagnostic: r.diagnostic }, 'queue delivery');
    }
    if (newlyFailed.length > 0) {
      const headers = await readHeaderBlock(path);
      // An expired temporary failure is reported as permanent: 4.4.7 becomes 5.4.7 (RFC 3463 3.5).
      const failed = newlyFailed.map((r) => ({ address: r.address, status: (r.status ?? '5.0.0').replace(/^4/, '5'), diagnostic: r.diagnostic ?? 'failed' }));
      await this.bounce(entry.from, failed, headers, createdAt);
    }
    if (entry.recipients.every((r) => r.state !== 'pending')) {
      await this.options.store.remove(entry.id);
      return;
    }
    const intervals = this.options.retryIntervalsMs;
    const wait = intervals[Math.min(entry.attempts - 1, intervals.length - 1)] ?? 60_000;
    entry.nextAttemptAt = new Date(this.now().getTime() + wait).toISOString();
    await this.options.store.save(entry);
    this.options.logger.info({ event: 'queue_deferred', id: entry.id, attempts: entry.attempts, next: entry.nextAttemptAt, rcpts: left.length }, 'delivery deferred');
  }
}
