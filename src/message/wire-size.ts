/**
 * The size a message has on the POP3 wire before dot-stuffing: a bare LF counts as CRLF,
 * and an unterminated last line gets a CRLF (RETR sends one, so LIST must count it).
 * Maildir files usually hold LF line ends; files dropped by other programs may hold CRLF.
 * The dot-stuffer applies exactly these rules, so LIST, STAT and RETR agree.
 */
export class WireSizeCounter {
  private total = 0;
  private last = -1;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    let extra = 0;
    let from = 0;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    for (;;) {
      const lf = buf.indexOf(10, from);
      if (lf < 0) break;
      const before = lf === 0 ? this.last : buf[lf - 1];
      if (before !== 13) extra++;
      from = lf + 1;
    }
    this.total += buf.length + extra;
    this.last = buf[buf.length - 1] ?? this.last;
  }

  /** Wire size of everything pushed, with the terminating CRLF if the last line lacks one. */
  get size(): number {
    return this.total > 0 && this.last !== 10 ? this.total + 2 : this.total;
  }
}

export function wireSize(message: Uint8Array): number {
  const counter = new WireSizeCounter();
  counter.push(message);
  return counter.size;
}
