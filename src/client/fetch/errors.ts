/** Another `postel fetch` holds this account's state lock. Temporary: it will finish. */
export class AccountBusyError extends Error {
  override readonly name = 'AccountBusyError';
  readonly temporary = true;
  constructor(
    readonly account: string,
    readonly holder: string,
  ) {
    super(`account ${account} is being fetched by another process (${holder})`);
  }
}

/**
 * The state file cannot be read. Not repaired automatically: guessing could fetch every
 * message again (duplicates) or forget which ones were delivered before a deletion.
 */
export class StateFileError extends Error {
  override readonly name = 'StateFileError';
  readonly temporary = false;
}

/** The server cannot support the configured policy (e.g. no UIDL for keep). */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly temporary = false;
}
