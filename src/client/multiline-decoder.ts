const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CR_ONLY = Buffer.from([CR]);

export interface DecodeResult {
  /** Body bytes, byte-stuffing removed; slices of the input where possible (no copies). */
  readonly body: Buffer[];
  /** True once the terminating "." line has been seen. */
  readonly done: boolean;
  /** Bytes after the terminator: the start of the next (pipelined) response. */
  readonly rest: Buffer;
}

const EMPTY = Buffer.alloc(0);

/**
 * Decodes an RFC 1939 multi-line response body as it streams in, chunk by chunk, in
 * constant memory. A line starting with "." has that first octet removed; a line that is
 * only "." ends the body. Line ends are passed through as received, so the body is
 * byte-exact. Bare LF is accepted as a line end (some servers send it), and so is a
 * terminator without its final CRLF at the end of the stream (see `endOfStream`).
 */
export class MultilineDecoder {
  /** At the first octet of a line. The body starts at a line start. */
  private lineStart = true;
  /** 0: normal; 1: saw "." at a line start; 2: saw "." then CR at a line start. */
  private pending: 0 | 1 | 2 = 0;
  private finished = false;

  get done(): boolean {
    return this.finished;
  }

  push(chunk: Buffer): DecodeResult {
    if (this.finished) return { body: [], done: true, rest: chunk };
    const body: Buffer[] = [];
    let segment = this.pending === 0 ? 0 : -1;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.pending === 1) {
        const c = chunk[i] as number;
        if (c === CR) {
          this.pending = 2;
          i++;
          continue;
        }
        if (c === LF) return this.finish(body, chunk, i + 1);
        // A stuffed line: the dot is dropped and the line goes on from here.
        this.pending = 0;
        segment = i;
        continue;
      }
      if (this.pending === 2) {
        if (chunk[i] === LF) return this.finish(body, chunk, i + 1);
        // ".\r" and something else: the dot goes (RFC 1939 strips it); the CR stays.
        body.push(CR_ONLY);
        this.pending = 0;
        segment = i;
        continue;
      }
      if (this.lineStart) {
        this.lineStart = false;
        if (chunk[i] === DOT) {
          if (segment >= 0 && i > segment) body.push(chunk.subarray(segment, i));
          segment = -1;
          this.pending = 1;
          i++;
          continue;
        }
      }
      const lf = chunk.indexOf(LF, i);
      if (lf < 0) {
        i = n;
        break;
      }
      i = lf + 1;
      this.lineStart = true;
    }
    if (segment >= 0 && n > segment) body.push(chunk.subarray(segment, n));
    return { body, done: false, rest: EMPTY };
  }

  /**
   * The server closed the connection. Returns true when the body is complete anyway: the
   * last thing received was a "." line start (a terminator missing its CRLF).
   */
  endOfStream(): boolean {
    if (this.finished) return true;
    if (this.pending !== 0) {
      this.finished = true;
      return true;
    }
    return false;
  }

  private finish(body: Buffer[], chunk: Buffer, restFrom: number): DecodeResult {
    this.finished = true;
    this.pending = 0;
    return { body, done: true, rest: restFrom < chunk.length ? chunk.subarray(restFrom) : EMPTY };
  }
}
