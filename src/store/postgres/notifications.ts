import type { Sql } from 'postgres';
import type { Logger } from '../../log/logger.js';

/** NOTIFY channel; the payload is the user name of a maildrop that received mail. */
export const NEW_MAIL_CHANNEL = 'postel_new_mail';

export interface NewMailHandlers {
  /** Mail was committed to this user's maildrop (on any node). */
  readonly onMail: (user: string) => void;
  /**
   * The subscription was (re)established: notifications sent while it was down are lost, so
   * whoever caches maildrop state must re-read it. Also called once at the start.
   */
  readonly onResync: () => void;
}

/**
 * New-mail notifications from every node through LISTEN/NOTIFY. The driver re-subscribes
 * after a lost connection by itself and calls onResync each time. Returns a stop function.
 */
export async function watchNewMail(sql: Sql, handlers: NewMailHandlers, logger: Logger): Promise<() => Promise<void>> {
  const meta = await sql.listen(
    NEW_MAIL_CHANNEL,
    (user) => handlers.onMail(user),
    () => {
      logger.debug('listening for new mail');
      handlers.onResync();
    },
  );
  return () => meta.unlisten();
}
