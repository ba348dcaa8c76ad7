import { frameLines, framingKernelAvailable } from './framing-kernel.js';

const LF = 10;
const CR = 13;
const DOT = 46;
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');
const EMPTY = Buffer.alloc(0);

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

  private readonly useKernel: boolean;

  /** `options.kernel: false` keeps to the JavaScript loop (tests compare the two). */
  constructor(bodyLines?: number, options: { readonly kernel?: boolean } = {}) {
    this.bodyLinesLeft = bodyLines ?? Number.POSITIVE_INFINITY;
    // RETR needs no line counting, so whole chunks can go through the fast kernel.
    this.useKernel = bodyLines === undefined && options.kernel !== false && framingKernelAvailable();
  }

  /** Whether push() writes into the buffer it is given (the kernel is in use). */
  get fillsBuffers(): boolean {
    return this.useKernel;
  }

  /** True once TOP has all the lines it wants; further input is ignored. */
  get done(): boolean {
    return this.finished;
  }

  /**
   * The wire bytes for the next chunk of the message. With the kernel (RETR), they are put
   * into `into` from offset `at` when it has room (FRAMED_CAPACITY), so a caller can reuse
   * buffers.
   */
  push(chunk: Buffer, into?: Buffer, at = 0): Buffer {
    if (this.finished || chunk.length === 0) return EMPTY;
    if (this.useKernel) return this.pushWhole(chunk, into, at);
    const length = chunk.length;
    // Worst case doubles: every byte an LF (becomes CRLF) or a '.' line start + LF. The input
    // goes into the upper part of the output buffer and each line is moved down with
    // copyWithin: one builtin call per line, where Buffer#copy between two buffers costs a
    // new typed-array view each time. Output never overtakes the unread input (at most 2x).
    const from = length + 2;
    const out = Buffer.allocUnsafe(from + length);
    out.set(chunk, from);
    // Searching a latin1 string for LF stays inside V8; Buffer#indexOf calls into C++ per line.
    const text = chunk.toString('latin1');
    let o = 0;
    let i = 0;
    while (i < length) {
      if (this.atLineStart) {
        if (this.inBody && this.bodyLinesLeft === 0) {
          this.finished = true;
          break;
        }
        if (text.charCodeAt(i) === DOT) out[o++] = DOT;
        this.atLineStart = false;
      }
      const lf = text.indexOf('\n', i);
      const end = lf < 0 ? length : lf;
      if (end > i) {
        out.copyWithin(o, from + i, from + end);
        o += end - i;
        this.lineBytes += end - i;
        this.last = text.charCodeAt(end - 1);
      }
      if (lf < 0) break;
      if (this.last !== CR) out[o++] = CR;
      out[o++] = LF;
      this.endLine();
      i = lf + 1;
    }
    return out.subarray(0, o);
  }

  /** RETR: the whole chunk through the WebAssembly kernel (framing-kernel.ts). */
  private pushWhole(chunk: Buffer, into: Buffer | undefined, at: number): Buffer {
    const out = frameLines(chunk, this.atLineStart ? LF : this.last, into, at);
    this.last = chunk[chunk.length - 1] as number;
    this.atLineStart = this.last === LF;
    return out;
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
