import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { QuotaExceededError, StoreError } from '../store/errors.js';
import type { MailStore } from '../store/types.js';
import { quotaLimit } from './quota.js';
import type { UserDirectory } from './recipients.js';
import { replies, type SmtpReplyError } from './reply.js';
import { isNoSpace } from '../fs/errno.js';

export type CopyOutcome = { readonly ok: true } | { readonly ok: false; readonly reply: SmtpReplyError };

export interface LocalDeliveryDeps {
  readonly store: MailStore;
  readonly users: UserDirectory;
  readonly logger: Logger;
}

/**
 * Final delivery into a maildrop, shared by the listeners and the queue: quota first, then
 * MailStore.deliver, which resolves only once the copy is fsynced. Storage faults become
 * temporary replies; their details go to the log, never to the client.
 */
export class LocalDelivery {
  constructor(private readonly deps: LocalDeliveryDeps) {}

  private async limitOf(user: string): Promise<number | null> {
    const entry = await this.deps.users.lookup(user);
    return entry === undefined ? null : quotaLimit(entry);
  }

  /** A refusal when `user` is over quota, or would be with `incoming` more stored octets. */
  async checkQuota(user: string, incoming: number): Promise<SmtpReplyError | undefined> {
    return this.quotaRefusal(user, await this.limitOf(user), incoming);
  }

  private async quotaRefusal(user: string, limit: number | null, incoming: number): Promise<SmtpReplyError | undefined> {
    if (limit === null) return undefined;
    const used = await this.deps.store.usage(user);
    if (used >= limit || used + incoming > limit) {
      this.deps.logger.info({ event: 'over_quota', user, used, incoming, limit }, 'mailbox over quota');
      return replies.overQuota();
    }
    return undefined;
  }

  /**
   * One copy for `user`: `open` gives the message, `trace` this copy's header fields. The
   * store checks the quota again as it stores, which settles racing deliveries.
   */
  async deliver(user: string, open: () => Readable, trace: string, storedSize: number, receivedAt: Date): Promise<CopyOutcome> {
    try {
      // One lookup for both checks: with users in PostgreSQL each is a query.
      const limit = await this.limitOf(user);
      const refusal = await this.quotaRefusal(user, limit, storedSize);
      if (refusal) return { ok: false, reply: refusal };
      await this.deps.store.deliver(user, open(), { receivedAt, trace, ...(limit === null ? {} : { quotaLimit: limit }) });
      return { ok: true };
    } catch (err) {
      if (err instanceof QuotaExceededError) {
        this.deps.logger.info({ event: 'over_quota', user }, 'mailbox over quota');
        return { ok: false, reply: replies.overQuota() };
      }
      this.deps.logger.error({ err, user }, 'local delivery failed');
      return { ok: false, reply: storageReply(err) };
    }
  }
}


/** A full disk or file system quota is "insufficient storage"; anything else a local error. */
function storageReply(err: unknown): SmtpReplyError {
  const cause = err instanceof StoreError ? err.cause : err;
  return isNoSpace(cause) ? replies.storageFull() : replies.localError();
}
