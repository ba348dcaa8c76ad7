import { performance } from 'node:perf_hooks';

export interface SyncReadGuardOptions {
  /** A read taking longer than this (ms) counts as slow: the disk answered, not the cache. */
  readonly slowMs?: number;
  /** This many slow reads within `windowMs` switch blocking reads off... */
  readonly strikes?: number;
  readonly windowMs?: number;
  /** ...for this long (ms). */
  readonly backoffMs?: number;
  readonly now?: () => number;
}

/**
 * Decides whether small files may be read with blocking calls. A message in the page cache
 * is opened, read and closed synchronously in about 15 µs; the same through Node's thread
 * pool costs about 100 µs of CPU in hand-offs, most of a small RETR. A blocking read of a
 * file that is not cached, though, stalls every session of the process for as long as the
 * disk takes. So reads are timed, and a few slow ones in a row (one alone may just be the
 * process losing the CPU for a moment) switch to asynchronous reads for a while.
 */
export class SyncReadGuard {
  private readonly slowMs: number;
  private readonly strikes: number;
  private readonly windowMs: number;
  private readonly backoffMs: number;
  private readonly now: () => number;
  private recentSlow: number[] = [];
  private asyncUntil = 0;

  constructor(options: SyncReadGuardOptions = {}) {
    this.slowMs = options.slowMs ?? 5;
    this.strikes = options.strikes ?? 3;
    this.windowMs = options.windowMs ?? 2000;
    this.backoffMs = options.backoffMs ?? 30_000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Whether a blocking read may be tried now. */
  get allowed(): boolean {
    return this.now() >= this.asyncUntil;
  }

  /** Runs a blocking read and times it. */
  time<T>(read: () => T): T {
    const started = this.now();
    try {
      return read();
    } finally {
      const end = this.now();
      if (end - started > this.slowMs) this.strike(end);
    }
  }

  private strike(at: number): void {
    this.recentSlow = this.recentSlow.filter((t) => at - t < this.windowMs);
    this.recentSlow.push(at);
    if (this.recentSlow.length >= this.strikes) {
      this.asyncUntil = at + this.backoffMs;
      this.recentSlow = [];
    }
  }
}
