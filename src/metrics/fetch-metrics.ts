import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { accountFailed, type AccountResult } from '../client/fetch/events.js';

/**
 * What `postel fetch --daemon` exports (its own registry: it is another process than the
 * server): messages per account and result, failed polls per account, and the time of each
 * account's last poll that succeeded.
 */
export class FetchMetrics {
  readonly registry = new Registry();

  readonly messages = new Counter({
    name: 'postel_fetch_messages_total',
    help: 'Messages handled by postel fetch, by account and result (delivered, skipped, deleted, failed)',
    labelNames: ['account', 'result'] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'postel_fetch_errors_total',
    help: 'Polls of an account that failed (connection, login, lock, state, or a message not delivered)',
    labelNames: ['account'] as const,
    registers: [this.registry],
  });
  readonly lastSuccess = new Gauge({
    name: 'postel_fetch_last_success_timestamp_seconds',
    help: 'When the last poll of an account that succeeded ended (Unix time); absent before the first',
    labelNames: ['account'] as const,
    registers: [this.registry],
  });

  /** `accounts`: their series start at 0, so a rate can be taken from the first scrape. */
  constructor(accounts: readonly string[], options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'postel_fetch_' });
    for (const account of accounts) {
      for (const result of RESULTS) this.messages.inc({ account, result }, 0);
      this.errors.inc({ account }, 0);
    }
  }

  /** One poll of one account. */
  record(result: AccountResult, now: Date = new Date()): void {
    const account = result.account;
    this.messages.inc({ account, result: 'delivered' }, result.delivered);
    this.messages.inc({ account, result: 'skipped' }, result.skipped);
    this.messages.inc({ account, result: 'deleted' }, result.deleted);
    this.messages.inc({ account, result: 'failed' }, result.failed);
    if (accountFailed(result)) this.errors.inc({ account });
    else this.lastSuccess.set({ account }, now.getTime() / 1000);
  }
}

const RESULTS = ['delivered', 'skipped', 'deleted', 'failed'] as const;
