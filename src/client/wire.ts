import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { Pop3ConnectionError, Pop3ProtocolError, Pop3TimeoutError } from './errors.js';
import { MultilineDecoder } from './multiline-decoder.js';

const LF = 0x0a;
const CR = 0x0d;

/** Above this many unread bytes the socket is paused, so a fast server cannot fill memory. */
const HIGH_WATER = 256 * 1024;

export interface WireOptions {
  /** Longest single line accepted from the server, line end included. */
  readonly maxLineLength: number;
  /** How long to wait for the server's next bytes before giving up on the connection. */
  readonly timeoutMs: number;
}

/**
 * The byte level of a POP3 connection: reads lines and multi-line bodies from a socket with
 * backpressure (the socket is paused while nobody consumes), writes command lines, and
 * turns silence longer than the timeout into a Pop3TimeoutError. The time limit only runs
 * while we wait for the server, never while a consumer is slow.
 */
export class Wire {
  private chunks: Buffer[] = [];
  private queued = 0;
  private received = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk);
    this.queued += chunk.length;
    this.received += chunk.length;
    if (this.queued > HIGH_WATER) this.socket.pause();
    this.notify();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };
  private readonly onError = (err: Error): void => {
    this.failure ??= new Pop3ConnectionError(`connection failed: ${err.message}`, { cause: err });
    this.notify();
  };

  constructor(
    private socket: Socket,
    private readonly options: WireOptions,
  ) {
    this.attach(socket);
  }

  /** True once the connection can no longer be used. */
  get broken(): boolean {
    return this.failure !== undefined || this.socket.destroyed;
  }

  /** Octets read from the connection so far (after TLS decryption). */
  get bytesReceived(): number {
    return this.received;
  }

  write(data: string): void {
    if (this.failure) throw this.failure;
    if (this.socket.destroyed || this.socket.writableEnded) throw new Pop3ConnectionError('connection is closed');
    // Command lines are tiny and commands are queued one by one, so the socket's own
    // buffer suffices; only message bodies (read side) need flow control.
    this.socket.write(data, 'latin1');
  }

  /** One line without its line end. At end of stream, a last line missing its CRLF counts. */
  async readLine(): Promise<Buffer> {
    const parts: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = await this.pull();
      if (chunk === null) {
        if (length > 0) return stripCr(Buffer.concat(parts, length));
        throw new Pop3ConnectionError('the server closed the connection');
      }
      const lf = chunk.indexOf(LF);
      if (lf >= 0) {
        if (lf + 1 < chunk.length) this.unshift(chunk.subarray(lf + 1));
        parts.push(chunk.subarray(0, lf));
        return stripCr(Buffer.concat(parts, length + lf));
      }
      parts.push(chunk);
      length += chunk.length;
      if (length >= this.options.maxLineLength) {
        this.fail(new Pop3ProtocolError(`server line longer than ${this.options.maxLineLength} octets`));
        throw this.failure as Error;
      }
    }
  }

  /**
   * The lines of a multi-line response, for small listings (CAPA, LIST, UIDL). `maxLines`
   * bounds memory for a hostile or broken server.
   */
  async readLines(maxLines: number): Promise<Buffer[]> {
    const lines: Buffer[] = [];
    for (;;) {
      const line = await this.readLine();
      if (line.length === 1 && line[0] === 0x2e) return lines;
      if (lines.length >= maxLines) {
        this.fail(new Pop3ProtocolError(`multi-line response longer than ${maxLines} lines`));
        throw this.failure as Error;
      }
      lines.push(line[0] === 0x2e ? line.subarray(1) : line);
    }
  }

  /**
   * A multi-line body as a stream, byte-stuffing removed. `done` settles when the body has
   * been read to its terminator: whether the consumer read it all or destroyed the stream
   * early (then the rest is read and dropped, keeping the connection in step).
   */
  readBody(): { stream: Readable; done: Promise<void> } {
    const decoder = new MultilineDecoder();
    let wanted = true;
    let demand: (() => void) | undefined;
    const signal = (): void => {
      wanted = true;
      const resolve = demand;
      demand = undefined;
      resolve?.();
    };
    const stream = new Readable({
      highWaterMark: 64 * 1024,
      read: signal,
      destroy(err, callback) {
        // The consumer gave up early: the pump reads on to the terminator and drops the
        // rest, so the next response starts where it should.
        signal();
        callback(err);
      },
    });
    const pump = async (): Promise<void> => {
      for (;;) {
        if (!wanted && !stream.destroyed) await new Promise<void>((resolve) => (demand = resolve));
        const chunk = await this.pull();
        if (chunk === null) {
          if (!decoder.endOfStream()) throw new Pop3ConnectionError('the server closed the connection in the middle of a message');
          if (!stream.destroyed) stream.push(null);
          return;
        }
        const result = decoder.push(chunk);
        if (result.rest.length > 0) this.unshift(result.rest);
        if (!stream.destroyed) {
          for (const part of result.body) wanted = stream.push(part);
        }
        if (result.done) {
          if (!stream.destroyed) stream.push(null);
          return;
        }
      }
    };
    // Consumers get errors through reading, iteration or pipeline. A body requested ahead
    // (pipelining) can fail before anyone holds it; that must not crash the process.
    stream.on('error', () => undefined);
    const done = pump();
    done.catch((err: unknown) => {
      if (!stream.destroyed) stream.destroy(err as Error);
    });
    return { stream, done };
  }

  /**
   * Hands the socket over for a TLS upgrade (STLS). Anything already received would have
   * been sent before the handshake, unprotected, so it must not be mistaken for data
   * after it (the STARTTLS command injection of CVE-2011-0411 and kin).
   */
  detachForTls(): Socket {
    if (this.queued > 0) {
      this.fail(new Pop3ProtocolError('the server sent data after its STLS answer and before TLS started'));
      throw this.failure as Error;
    }
    this.detach(this.socket);
    return this.socket;
  }

  /** Continues on the upgraded socket. */
  attachTls(socket: Socket): void {
    this.socket = socket;
    this.ended = false;
    this.attach(socket);
  }

  /** Closes the connection at once; pending reads fail with `err` (or a plain closed error). */
  fail(err?: Error): void {
    this.failure ??= err ?? new Pop3ConnectionError('connection closed');
    this.socket.destroy();
    this.notify();
  }

  /** Ends our side politely and waits (bounded) for the socket to close. */
  async end(): Promise<void> {
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.socket.destroy();
        resolve();
      }, this.options.timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.end();
      // We no longer read: let the socket drain to its end without holding data.
      this.socket.resume();
    });
    this.failure ??= new Pop3ConnectionError('connection closed');
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onEnd);
    socket.off('error', this.onError);
    socket.pause();
  }

  private unshift(chunk: Buffer): void {
    this.chunks.unshift(chunk);
    this.queued += chunk.length;
  }

  /** The next buffered chunk, waiting for one if needed; null at end of stream. */
  private async pull(): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk !== undefined) {
        this.queued -= chunk.length;
        if (this.queued <= HIGH_WATER && this.socket.isPaused() && !this.socket.destroyed) this.socket.resume();
        return chunk;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await this.waitForData();
    }
  }

  private waitForData(): Promise<void> {
    if (this.socket.isPaused() && !this.socket.destroyed) this.socket.resume();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.fail(new Pop3TimeoutError(`no answer from the server within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}
