export type LineEvent =
  | { readonly kind: 'line'; readonly line: Buffer }
  /** A line exceeded the limit: it is discarded up to its LF, and reported once, in order. */
  | { readonly kind: 'too-long' };

const LF = 10;
const CR = 13;

/**
 * Splits a byte stream into lines ended by CRLF (a bare LF is accepted too, as most servers
 * do). `maxLength` counts the line with its CRLF, like RFC 2449's 255-octet rule, so memory
 * per connection stays bounded whatever a client sends.
 */
export class LineReader {
  private pending: Buffer[] = [];
  private pendingLength = 0;
  private discarding = false;

  constructor(private readonly maxLength: number) {}

  push(chunk: Buffer): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    while (start < chunk.length) {
      const lf = chunk.indexOf(LF, start);
      const end = lf < 0 ? chunk.length : lf;
      if (this.discarding) {
        if (lf >= 0) this.discarding = false;
      } else if (this.pendingLength + (end - start) + 1 > this.maxLength) {
        // Either the finished line is too long, or the unfinished one already is: report it
        // now so the client is answered promptly, and skip the rest of it.
        this.reset();
        events.push({ kind: 'too-long' });
        if (lf < 0) this.discarding = true;
      } else if (lf < 0) {
        this.pending.push(chunk.subarray(start, end));
        this.pendingLength += end - start;
      } else {
        let line = this.pending.length === 0 ? chunk.subarray(start, end) : Buffer.concat([...this.pending, chunk.subarray(start, end)]);
        if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
        this.reset();
        // Copy: the chunk may be a pooled buffer the caller reuses.
        events.push({ kind: 'line', line: Buffer.from(line) });
      }
      if (lf < 0) break;
      start = lf + 1;
    }
    return events;
  }

  /** Drops buffered input (after STLS, pipelined bytes must not survive the upgrade). */
  reset(): void {
    this.pending = [];
    this.pendingLength = 0;
  }
}
