import { fstatSync, write, writeSync } from 'node:fs';
import { BlockingGuard } from '../fs/blocking-guard.js';

/**
 * Where log lines go: a file descriptor (stdout), written asynchronously, one write at a time,
 * from a bounded queue. A destination that fails (a full disk under a redirected stdout, a
 * closed pipe) or stalls (a pipe nobody reads) must never stall or end a session, so:
 * - a failed write drops what was queued and is reported once on stderr; logging resumes by
 *   itself when writes work again, with a count of what was lost;
 * - past `maxQueuedBytes` new lines are dropped rather than buffered without bound;
 * - there is no synchronous flush that could spin on ENOSPC (pino's own destination
 *   retries forever at exit, which kept a crashed server's ports open).
 * A regular file (stdout redirected to one) is written with blocking calls while they are
 * fast: a write to the page cache takes microseconds, a hand-off to the thread pool about a
 * hundred, once or twice per POP3 session. A pipe or terminal never is: its reader can stall.
 */
export interface LogDestinationOptions {
  readonly fd?: number;
  /** Reformat JSON lines for a person (a terminal). */
  readonly pretty?: boolean;
  readonly maxQueuedBytes?: number;
  /** Where the one-line notices go; default stderr. Undefined disables them. */
  readonly notice?: ((line: string) => void) | undefined;
}

export class LogDestination {
  private readonly fd: number;
  private readonly pretty: boolean;
  private readonly maxQueuedBytes: number;
  private readonly notice: ((line: string) => void) | undefined;
  private queue: string[] = [];
  private queuedBytes = 0;
  private writing = false;
  /** A write is due at the end of this turn of the event loop. */
  private due = false;
  private dropped = 0;
  private failing: string | undefined;
  private waiters: (() => void)[] = [];
  /** Set when the fd is a regular file: blocking writes, timed. */
  private readonly blocking: BlockingGuard | undefined;

  constructor(options: LogDestinationOptions = {}) {
    this.fd = options.fd ?? 1;
    this.pretty = options.pretty ?? false;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 4 * 1024 * 1024;
    this.notice = 'notice' in options ? options.notice : (line) => writeNotice(line);
    this.blocking = isRegularFile(this.fd) ? new BlockingGuard() : undefined;
  }

  /** pino calls this with one serialized line (ending in \n). */
  write(line: string): boolean {
    const text = this.pretty ? prettyLine(line) : line;
    if (this.queuedBytes + text.length > this.maxQueuedBytes) {
      this.dropped++;
      return false;
    }
    this.queue.push(text);
    this.queuedBytes += text.length;
    if (!this.writing && !this.due) {
      // Lines logged in the same turn of the event loop (a busy server handles many sessions
      // per turn) go out in one write: each write is a hand-off to the thread pool.
      this.due = true;
      setImmediate(() => {
        this.due = false;
        if (!this.writing) this.next();
      });
    }
    return true;
  }

  /** Resolves once what is queued now has been written or dropped (pino's logger.flush). */
  flush(cb?: (err?: Error) => void): void {
    if (!this.writing && !this.due && this.queue.length === 0) {
      cb?.();
      return;
    }
    this.waiters.push(() => cb?.());
  }

  /** Lines dropped since the destination last worked (for tests and the recovery notice). */
  get droppedLines(): number {
    return this.dropped;
  }

  private next(): void {
    if (this.queue.length === 0) {
      this.writing = false;
      for (const w of this.waiters.splice(0)) w();
      return;
    }
    this.writing = true;
    const batch = Buffer.from(this.queue.join(''), 'utf8');
    const lines = this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    this.writeOut(batch, 0, lines);
  }

  private writeOut(batch: Buffer, offset: number, lines: number): void {
    if (this.blocking?.allowed) {
      let written: number;
      try {
        written = this.blocking.time(() => writeSync(this.fd, batch, offset, batch.length - offset));
      } catch (err) {
        this.written(err as NodeJS.ErrnoException, 0, batch, offset, lines);
        return;
      }
      this.written(null, written, batch, offset, lines);
      return;
    }
    write(this.fd, batch, offset, batch.length - offset, null, (err, written) => this.written(err, written, batch, offset, lines));
  }

  private written(err: NodeJS.ErrnoException | null, written: number, batch: Buffer, offset: number, lines: number): void {
    if (err) {
      // Not retried: what failed is dropped, the next line tries again.
      this.dropped += lines;
      if (this.failing === undefined) {
        this.failing = err.code ?? err.message;
        this.notice?.(`postel: log output failing (${this.failing}); log lines are dropped until it works again`);
      }
      this.next();
      return;
    }
    if (offset + written < batch.length) {
      this.writeOut(batch, offset + written, lines);
      return;
    }
    if (this.failing !== undefined) {
      this.notice?.(`postel: log output works again; ${this.dropped} log lines were dropped`);
      this.failing = undefined;
      this.dropped = 0;
    }
    this.next();
  }
}

function isRegularFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

function writeNotice(line: string): void {
  // stderr may sit on the same failing file system: one attempt, never waited for.
  try {
    writeSync(2, `${line}\n`);
  } catch {
    // nowhere left to say it
  }
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMITTED = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname']);

/** `12:03:04 WARN  message key=value ...`: what a person at a terminal reads next to the banner. */
export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof record['time'] === 'number' ? new Date(record['time']).toISOString().slice(11, 19) : '';
  const level = (LEVELS[Number(record['level'])] ?? String(record['level'])).padEnd(5);
  const fields = Object.entries(record)
    .filter(([k]) => !OMITTED.has(k))
    .map(([k, v]) => `${k}=${formatValue(v)}`);
  return `${time} ${level} ${String(record['msg'] ?? '')}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null && 'message' in value && 'type' in value) {
    return JSON.stringify((value as { message: unknown }).message);
  }
  return JSON.stringify(value);
}
