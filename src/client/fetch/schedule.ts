import { Pop3LoginDelayError } from '../errors.js';
import type { AccountResult } from './events.js';

/** The longest pause between polls after errors, unless the interval itself is longer. */
const MAX_BACKOFF_MS = 3_600_000;
/** When a server says [LOGIN-DELAY] without announcing how long, wait this long at least. */
const DEFAULT_LOGIN_DELAY_MS = 300_000;

export interface NextPoll {
  readonly delayMs: number;
  /** Failed polls in a row, including this one. */
  readonly failures: number;
  readonly reason: string;
}

/**
 * When to poll an account again. After success: the interval, but never sooner than the
 * server's LOGIN-DELAY (RFC 2449 section 6.8). After a failure: the interval doubled for
 * each failure in a row, up to an hour; after [LOGIN-DELAY], at least the delay. Pure, so
 * the daemon's behaviour is tested without waiting.
 */
export function nextPoll(result: AccountResult, previousFailures: number, intervalMs: number): NextPoll {
  const loginDelayMs = (result.loginDelaySeconds ?? 0) * 1000;
  if (result.error === undefined) {
    return loginDelayMs > intervalMs
      ? { delayMs: loginDelayMs, failures: 0, reason: `the server's LOGIN-DELAY is ${result.loginDelaySeconds} s` }
      : { delayMs: intervalMs, failures: 0, reason: 'interval' };
  }
  const failures = previousFailures + 1;
  const backoff = Math.min(intervalMs * 2 ** Math.min(failures - 1, 30), Math.max(intervalMs, MAX_BACKOFF_MS));
  const error = result.error;
  if (error instanceof Pop3LoginDelayError) {
    const required = error.delaySeconds !== undefined ? error.delaySeconds * 1000 : loginDelayMs || DEFAULT_LOGIN_DELAY_MS;
    return { delayMs: Math.max(backoff, required), failures, reason: 'the server refused a login this soon ([LOGIN-DELAY])' };
  }
  return { delayMs: backoff, failures, reason: `backing off after ${failures} failed poll${failures === 1 ? '' : 's'}` };
}
