import { setTimeout as sleep } from 'node:timers/promises';
import type { AccountSettings } from './account.js';
import type { AccountResult } from './events.js';
import { nextPoll, type NextPoll } from './schedule.js';

export interface DaemonOptions {
  readonly intervalMs: number;
  /** Stop after this many polls of each account (default: run until aborted). */
  readonly maxPolls?: number;
  readonly signal?: AbortSignal;
  readonly fetch: (account: AccountSettings) => Promise<AccountResult>;
  /** Called after each poll with the result and when the next one is due. */
  readonly onPoll?: (result: AccountResult, next: NextPoll) => void;
}

/**
 * Polls every account on its own schedule (see nextPoll), one fetch at a time. Returns when
 * aborted or when each account has had `maxPolls` polls.
 */
export async function runDaemon(accounts: readonly AccountSettings[], options: DaemonOptions): Promise<void> {
  const due = new Map(accounts.map((a) => [a.name, Date.now()]));
  const failures = new Map(accounts.map((a) => [a.name, 0]));
  const polls = new Map(accounts.map((a) => [a.name, 0]));
  const active = (): AccountSettings[] => accounts.filter((a) => options.maxPolls === undefined || (polls.get(a.name) ?? 0) < options.maxPolls);
  // Ends when aborted or every account has had its polls; each pass polls one account.
  while (!options.signal?.aborted) {
    const candidates = active();
    if (candidates.length === 0) return;
    const account = candidates.reduce((a, b) => ((due.get(b.name) ?? 0) < (due.get(a.name) ?? 0) ? b : a));
    const wait = (due.get(account.name) ?? 0) - Date.now();
    if (wait > 0) {
      try {
        await sleep(wait, undefined, options.signal ? { signal: options.signal } : {});
      } catch {
        return;
      }
    }
    const result = await options.fetch(account);
    polls.set(account.name, (polls.get(account.name) ?? 0) + 1);
    const next = nextPoll(result, failures.get(account.name) ?? 0, options.intervalMs);
    failures.set(account.name, next.failures);
    due.set(account.name, Date.now() + next.delayMs);
    options.onPoll?.(result, next);
  }
}
