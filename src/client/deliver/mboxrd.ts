const LF = 0x0a;
const GT = 0x3e;
const FROM = Buffer.from('From ');
const GT_ONLY = Buffer.from('>');

/**
 * mboxrd quoting as bytes stream through (LF line ends expected): a line matching
 * /^>*From / gets one more ">", so that reading the mbox back can undo it exactly. The
 * ">" is added just before "From ", which gives the same bytes as adding it at the start
 * of the line, and lets a long run of ">" pass through without being held back.
 */
export class MboxrdQuoter {
  /** At a line start or inside its ">" run: "From " may still follow. */
  private probing = true;
  /** How many bytes of "From " have been matched (and held back). */
  private matched = 0;
  private lastByte = LF;

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const out: Buffer[] = [];
    let i = 0;
    let copyFrom = 0;
    const n = chunk.length;
    while (i < n) {
      if (!this.probing) {
        const lf = chunk.indexOf(LF, i);
        if (lf < 0) {
          i = n;
          break;
        }
        i = lf + 1;
        this.probing = true;
        continue;
      }
      const c = chunk[i] as number;
      if (this.matched === 0 && c === GT) {
        i++;
        continue;
      }
      if (c === FROM[this.matched]) {
        if (this.matched === 0 && i > copyFrom) out.push(chunk.subarray(copyFrom, i));
        this.matched++;
        i++;
        copyFrom = i;
        if (this.matched === FROM.length) {
          out.push(GT_ONLY, FROM);
          this.matched = 0;
          this.probing = false;
        }
        continue;
      }
      // Not a From_ line: release what was held back and go on from this byte.
      if (this.matched > 0) {
        out.push(FROM.subarray(0, this.matched));
        this.matched = 0;
        copyFrom = i;
      }
      this.probing = c === LF;
      i++;
    }
    if (!(this.probing && this.matched > 0) && n > copyFrom) out.push(chunk.subarray(copyFrom, n));
    this.lastByte = chunk[n - 1] as number;
    return out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out);
  }

  /** Held-back bytes and, if the message did not end with one, a final LF. */
  end(): Buffer {
    const held = this.probing && this.matched > 0 ? FROM.subarray(0, this.matched) : Buffer.alloc(0);
    this.matched = 0;
    const needsLf = held.length > 0 || this.lastByte !== LF;
    return needsLf ? Buffer.concat([held, Buffer.from([LF])]) : held;
  }
}
