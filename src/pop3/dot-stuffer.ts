const LF = 10;
const CR = 13;
const DOT = 46;
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');

/**
 * Turns stored message bytes into a POP3 multi-line response body (RFC 1939 section 3):
 * bare LF becomes CRLF, a line starting with '.' gets another '.', the last line is
 * terminated, and ".\r\n" ends it. Works on chunks of any size, so a line, a CRLF or a dot
 * split across chunk boundaries is handled the same as whole.
 *
 * For TOP (`bodyLines` set) it passes the header, the blank line after it, and that many
 * body lines, then reports `done` so the caller can stop reading the file.
 */
export class DotStuffer {
  private atLineStart = true;
  private lineBytes = 0;
  private last = -1;
  private inBody = false;
  private bodyLinesLeft: number;
  private finished = false;

  constructor(bodyLines?: number) {
    this.bodyLinesLeft = bodyLines ?? Number.POSITIVE_INFINITY;
  }

  /** True once TOP has all the lines it wants; further input is ignored. */
  get done(): boolean {
    return this.finished;
  }

  push(chunk: Buffer): Buffer {
    if (this.finished || chunk.length === 0) return Buffer.alloc(0);
    // Worst case doubles: every byte an LF (becomes CRLF) or a '.' line start + LF.
    const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    let o = 0;
    let i = 0;
    while (i < chunk.length) {
      if (this.atLineStart) {
        if (this.inBody && this.bodyLinesLeft === 0) {
          this.finished = true;
          break;
        }
        if (chunk[i] === DOT) out[o++] = DOT;
        this.atLineStart = false;
      }
      const lf = chunk.indexOf(LF, i);
      const end = lf < 0 ? chunk.length : lf;
      if (end > i) {
        o += chunk.copy(out, o, i, end);
        this.lineBytes += end - i;
        this.last = chunk[end - 1] as number;
      }
      if (lf < 0) break;
      if (this.last !== CR) out[o++] = CR;
      out[o++] = LF;
      this.endLine();
      i = lf + 1;
    }
    return out.subarray(0, o);
  }

  /** The closing bytes: a CRLF if the last line was unterminated, then ".\r\n". */
  end(): Buffer {
    return !this.atLineStart && !this.finished ? CRLF_TERMINATOR : TERMINATOR;
  }

  private endLine(): void {
    // An empty line is "" or a lone CR before the LF: the first one ends the header.
    const empty = this.lineBytes === 0 || (this.lineBytes === 1 && this.last === CR);
    if (this.inBody) this.bodyLinesLeft--;
    else if (empty) this.inBody = true;
    this.atLineStart = true;
    this.lineBytes = 0;
    this.last = LF;
  }
}
