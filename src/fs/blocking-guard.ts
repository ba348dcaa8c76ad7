import { statSync, type BigIntStats } from 'node:fs';
import { stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

/** How old the sample of involuntary context switches may be when a read starts. */
const BASELINE_MS = 50;

export interface BlockingGuardOptions {
  /** A read taking longer than this (ms) counts as slow: the disk answered, not the cache. */
  readonly slowMs?: number;
  /** This many slow reads within `windowMs` switch blocking reads off... */
  readonly strikes?: number;
  readonly windowMs?: number;
  /** ...for this long (ms). */
  readonly backoffMs?: number;
  readonly now?: () => number;
  /** The process's involuntary context switches so far (getrusage), for tests to move. */
  readonly preemptions?: () => number;
}

/**
 * Decides whether small files may be read, and metadata calls (stat, symlink, unlink, utimes)
 * made, with blocking calls. A message in the page cache is opened, read and closed
 * synchronously in about 15 µs, a stat in a few; the same through Node's thread pool costs
 * about 100 µs of CPU in hand-offs (a wake-up of a pool thread and one of the event loop),
 * most of a small RETR, and of a login that made nine such calls. A blocking call on a disk
 * that must seek, or a network file system, though, stalls every session of the process for
 * as long as it takes. So calls are timed, and a few slow ones in a row switch to
 * asynchronous calls for a while.
 *
 * A read that was slow because the process lost the CPU says nothing about the disk, and on
 * a busy machine (two cores shared with other work) that happens every few hundred reads:
 * counted, it switched a server to the slow path for good. The two are told apart by the
 * kind of context switch: waiting for a disk is a voluntary one, being preempted an
 * involuntary one. A slow read is not counted when the process was preempted since the last
 * sample of the count, which is taken at most every BASELINE_MS (reading it costs a system
 * call, about a microsecond: per read that was several percent of a RETR).
 */
export class BlockingGuard {
  private readonly slowMs: number;
  private readonly strikes: number;
  private readonly windowMs: number;
  private readonly backoffMs: number;
  private readonly now: () => number;
  private readonly preemptions: () => number;
  /** Involuntary context switches at `baselineAt`. */
  private baseline = 0;
  private baselineAt = -Infinity;
  private recentSlow: number[] = [];
  private asyncUntil = 0;

  constructor(options: BlockingGuardOptions = {}) {
    this.slowMs = options.slowMs ?? 5;
    this.strikes = options.strikes ?? 3;
    this.windowMs = options.windowMs ?? 2000;
    this.backoffMs = options.backoffMs ?? 30_000;
    this.now = options.now ?? (() => performance.now());
    this.preemptions = options.preemptions ?? (() => process.resourceUsage().involuntaryContextSwitches);
  }

  /** Whether a blocking read may be tried now. */
  get allowed(): boolean {
    return this.now() >= this.asyncUntil;
  }

  /**
   * `blocking` (timed) when blocking calls are allowed now, else `nonBlocking`: the same
   * call either way, with the same errors (a thrown one becomes the rejection).
   */
  call<T>(blocking: () => T, nonBlocking: () => Promise<T>): Promise<T> {
    if (!this.allowed) return nonBlocking();
    try {
      return Promise.resolve(this.time(blocking));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** Runs a blocking read and times it. */
  time<T>(read: () => T): T {
    const started = this.now();
    if (started - this.baselineAt > BASELINE_MS) {
      this.baseline = this.preemptions();
      this.baselineAt = started;
    }
    try {
      return read();
    } finally {
      const end = this.now();
      if (end - started > this.slowMs) {
        const preemptions = this.preemptions();
        if (preemptions === this.baseline) this.strike(end);
        this.baseline = preemptions;
        this.baselineAt = end;
      }
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

/** `guard.call(...)`, or the non-blocking call when there is no guard. */
export function blockingOr<T>(guard: BlockingGuard | undefined, blocking: () => T, nonBlocking: () => Promise<T>): Promise<T> {
  return guard ? guard.call(blocking, nonBlocking) : nonBlocking();
}

/** A file's stat with nanosecond times (the identity of an index, a directory, the users file). */
export function statBigint(path: string, guard: BlockingGuard | undefined): Promise<BigIntStats> {
  return blockingOr(
    guard,
    () => statSync(path, { bigint: true }),
    () => stat(path, { bigint: true }),
  );
}
