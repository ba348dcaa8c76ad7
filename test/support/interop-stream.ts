import { createHash, type Hash } from 'node:crypto';

const CR = 13;
const LF = 10;
const DOT = 46;
const CR_ONLY = Buffer.from([CR]);

/**
 * Reads one POP3 multi-line response (status line, then a dot-stuffed body up to ".\r\n")
 * as it streams in, without keeping it: the body is unstuffed and hashed on the fly, so a
 * 50 MB message costs the reader no more memory than one chunk.
 */
export class StreamingMultiLineReader {
  private statusBytes: Buffer[] = [];
  private state: 'status' | 'lineStart' | 'dot' | 'dotCr' | 'inLine' | 'done' = 'status';
  private readonly hash: Hash = createHash('sha256');
  /** The status line, without CRLF, once read. */
  status: string | undefined;
  /** Unstuffed body octets so far. */
  bodyOctets = 0;
  /** Lines whose leading '.' was stuffing and has been removed. */
  unstuffedLines = 0;
  /** Octets received in all, status line and terminator included. */
  wireOctets = 0;

  get done(): boolean {
    return this.state === 'done';
  }

  /** The sha256 (hex) of the unstuffed body; only once done. */
  digest(): string {
    if (!this.done) throw new Error('response not complete');
    return this.hash.digest('hex');
  }

  /** Feeds received bytes. Anything after the terminator is a protocol error here. */
  push(chunk: Buffer): void {
    if (this.state === 'done') throw new Error(`data after the end of the response: ${JSON.stringify(chunk.toString('latin1', 0, 40))}`);
    this.wireOctets += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'status': {
          const lf = chunk.indexOf(LF, i);
          const end = lf < 0 ? chunk.length : lf + 1;
          this.statusBytes.push(chunk.subarray(i, end));
          i = end;
          if (lf >= 0) {
            this.status = Buffer.concat(this.statusBytes).toString('latin1').replace(/\r\n$/, '');
            this.statusBytes = [];
            // An -ERR has no body.
            this.state = this.status.startsWith('+OK') ? 'lineStart' : 'done';
            if (this.state === 'done' && i < chunk.length) throw new Error('data after an -ERR status line');
          }
          break;
        }
        case 'lineStart':
          if (chunk[i] === DOT) {
            this.state = 'dot';
            i++;
          } else {
            this.state = 'inLine';
          }
          break;
        case 'dot':
          if (chunk[i] === CR) {
            this.state = 'dotCr';
            i++;
          } else {
            // The leading '.' was stuffing (RFC 1939 section 3): it is dropped.
            this.unstuffedLines++;
            this.state = 'inLine';
          }
          break;
        case 'dotCr':
          if (chunk[i] === LF) {
            this.state = 'done';
            i++;
            if (i < chunk.length) throw new Error('data after the end of the response');
          } else {
            // ".\r" then something else is not valid POP3; keep what it says, minus the dot.
            this.unstuffedLines++;
            this.emit(CR_ONLY);
            this.state = 'inLine';
          }
          break;
        case 'inLine': {
          const lf = chunk.indexOf(LF, i);
          if (lf < 0) {
            this.emit(chunk.subarray(i));
            i = chunk.length;
          } else {
            this.emit(chunk.subarray(i, lf + 1));
            i = lf + 1;
            this.state = 'lineStart';
          }
          break;
        }
        case 'done':
          throw new Error('unreachable');
      }
    }
  }

  private emit(bytes: Buffer): void {
    this.bodyOctets += bytes.length;
    this.hash.update(bytes);
  }
}
