/** Another session holds the maildrop lock: POP3 answers -ERR [IN-USE]. */
export class MaildropLockedError extends Error {
  override readonly name = 'MaildropLockedError';
  constructor(readonly user: string) {
    super(`maildrop of ${user} is locked by another session`);
  }
}

/**
 * A storage fault. `temporary` tells whether trying again later may help (disk full, I/O
 * error: [SYS/TEMP], EX_TEMPFAIL) or not (corrupt data, permissions: [SYS/PERM]).
 * The message is for logs; it never reaches the wire.
 */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(message: string, readonly temporary: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The delivery would take the maildrop over its quota (checked by the store, atomically where it can). */
export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError';
  constructor(readonly user: string) {
    super(`maildrop of ${user} is over quota`);
  }
}

/** The message's file vanished (another program removed it) after the snapshot was taken. */
export class MessageGoneError extends Error {
  override readonly name = 'MessageGoneError';
  constructor(readonly index: number) {
    super(`message ${index + 1} is no longer in the maildrop`);
  }
}

/**
 * Wraps a low-level failure for callers. File-system faults count as temporary: disk full,
 * quota, I/O errors and even a misconfigured directory can be fixed by an administrator,
 * and a temporary answer makes the MTA keep the mail queued instead of bouncing it.
 */
export function toStoreError(err: unknown, what: string): Error {
  if (err instanceof StoreError || err instanceof MaildropLockedError || err instanceof MessageGoneError || err instanceof QuotaExceededError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StoreError(`${what}: ${detail}`, true, { cause: err });
}
