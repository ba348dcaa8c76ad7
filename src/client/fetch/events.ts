/** What a fetch reports while it runs, for progress bars, log lines and tests. */
export type FetchEvent =
  | { readonly type: 'connected'; readonly account: string; readonly secure: boolean; readonly server: string }
  | {
      readonly type: 'listed';
      readonly account: string;
      /** Messages on the server. */
      readonly messages: number;
      /** To download now, and their total size. */
      readonly toFetch: number;
      readonly bytes: number;
      readonly toDelete: number;
    }
  | { readonly type: 'message-start'; readonly account: string; readonly index: number; readonly total: number; readonly uid: string; readonly size: number; readonly headersOnly: boolean }
  | { readonly type: 'bytes'; readonly account: string; readonly bytes: number }
  | { readonly type: 'delivered'; readonly account: string; readonly uid: string; readonly size: number; readonly headersOnly: boolean }
  | { readonly type: 'skipped'; readonly account: string; readonly uid: string; readonly reason: string }
  | { readonly type: 'failed'; readonly account: string; readonly uid: string; readonly error: Error }
  | { readonly type: 'deleted'; readonly account: string; readonly count: number }
  | { readonly type: 'warning'; readonly account: string; readonly text: string };

/** The outcome of fetching one account. */
export interface AccountResult {
  readonly account: string;
  /** Messages the server listed (0 if the listing was not reached). */
  readonly messages: number;
  readonly delivered: number;
  readonly skipped: number;
  readonly deleted: number;
  /** Messages that could not be delivered (they stay on the server). */
  readonly failed: number;
  /** Why each of them failed. */
  readonly failures?: readonly { readonly uid: string; readonly error: Error }[];
  readonly bytes: number;
  /** What stopped the account early, if anything (connection, login, lock, state...). */
  readonly error?: Error;
  /** The server's LOGIN-DELAY from CAPA, for the daemon's schedule. */
  readonly loginDelaySeconds?: number;
}

export function accountFailed(result: AccountResult): boolean {
  return result.error !== undefined || result.failed > 0;
}
