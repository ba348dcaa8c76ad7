const CR = 13;
const LF = 10;
const CR_ONLY = Buffer.from([CR]);
const EMPTY = Buffer.alloc(0);

/**
 * Turns CRLF pairs into LF as bytes stream through (the Maildir convention, like Dovecot
 * with mail_save_crlf=no). A CR ending one chunk is held back until the next chunk shows
 * whether an LF follows; a CR not followed by LF is kept as it is.
 */
export class CrlfToLf {
  private pendingCr = false;

  push(chunk: Uint8Array): Buffer {
    if (chunk.length === 0) return EMPTY;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    const parts: Buffer[] = [];
    if (this.pendingCr) {
      this.pendingCr = false;
      if (buf[0] !== LF) parts.push(CR_ONLY);
    }
    let start = 0;
    let from = 0;
    for (;;) {
      const cr = buf.indexOf(CR, from);
      if (cr < 0) break;
      if (cr === buf.length - 1) {
        parts.push(buf.subarray(start, cr));
        start = buf.length;
        this.pendingCr = true;
        break;
      }
      if (buf[cr + 1] === LF) {
        parts.push(buf.subarray(start, cr));
        start = cr + 1;
      }
      from = cr + 1;
    }
    if (start === 0 && parts.length === 0) return buf;
    parts.push(buf.subarray(start));
    return Buffer.concat(parts);
  }

  /** Whatever is held back once the input has ended. */
  end(): Buffer {
    if (!this.pendingCr) return EMPTY;
    this.pendingCr = false;
    return CR_ONLY;
  }
}
