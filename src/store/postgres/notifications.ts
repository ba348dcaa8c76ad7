import type { Sql } from 'postgres';
import type { Logger } from '../../log/logger.js';
import type { NewMailHandlers } from '../types.js';

/** NOTIFY channel; the payload is NewMailNotice as JSON (older nodes sent the bare user name). */
export const NEW_MAIL_CHANNEL = 'postel_new_mail';

/** What a delivery announces. */
export interface NewMailNotice {
  readonly user: string;
  readonly size?: number;
  /** The store object that delivered it (random per process), so it can skip its own. */
  readonly origin?: string;
}

export function formatNotice(notice: NewMailNotice): string {
  return JSON.stringify(notice);
}

/** A notice from any postel version; null for a payload that names no user. */
export function parseNotice(payload: string): NewMailNotice | null {
  if (!payload.startsWith('{')) return payload === '' ? null : { user: payload };
  try {
    const value = JSON.parse(payload) as Record<string, unknown>;
    if (typeof value['user'] !== 'string') return null;
    return {
      user: value['user'],
      ...(typeof value['size'] === 'number' ? { size: value['size'] } : {}),
      ...(typeof value['origin'] === 'string' ? { origin: value['origin'] } : {}),
    };
  } catch {
    return null;
  }
}

/**
 * New-mail notifications from every node through LISTEN/NOTIFY. The driver re-subscribes
 * after a lost connection by itself and calls onResync each time (also once at the start).
 * Notices whose origin is `skipOrigin` are left out. Returns a stop function.
 */
export async function watchNewMail(sql: Sql, handlers: NewMailHandlers, logger: Logger, skipOrigin?: string): Promise<() => Promise<void>> {
  const meta = await sql.listen(
    NEW_MAIL_CHANNEL,
    (payload) => {
      const notice = parseNotice(payload);
      if (notice === null) {
        logger.warn({ payload: payload.slice(0, 200) }, 'ignoring a new-mail notification that names no user');
        return;
      }
      if (skipOrigin !== undefined && notice.origin === skipOrigin) return;
      handlers.onMail(notice.user, notice.size);
    },
    () => {
      logger.debug('listening for new mail');
      handlers.onResync();
    },
  );
  return () => meta.unlisten();
}
