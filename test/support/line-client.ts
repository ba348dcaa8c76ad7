import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

/**
 * A deliberately dumb peer for tests, under the POP3 (wire-client.ts) and SMTP
 * (smtp-client.ts) clients: it sends exact bytes and reads exact bytes, so tests see a
 * server's framing as a client would, with nothing smoothed over. Reads wait on the
 * socket's events, each bounded by a deadline.
 */
export class LineClient {
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  private sink: ((chunk: Buffer) => void) | undefined;
  /** Resolves when the connection has closed. */
  readonly closedPromise: Promise<void>;
  private markClosed!: () => void;

  private readonly onData = (chunk: Buffer): void => {
    if (this.sink) return this.sink(chunk);
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    this.wake();
  };

  protected constructor(public socket: Socket) {
    this.closedPromise = new Promise((resolve) => (this.markClosed = resolve));
    this.attach(socket);
  }

  /** A TCP connection (or a Unix socket when `port` is a path). */
  /** `localAddress`: another loopback source (127.0.0.2), to be a different client. */
  protected static socketTo(port: number | string, host = '127.0.0.1', localAddress?: string): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = typeof port === 'string' ? connect({ path: port }) : connect({ port, host, ...(localAddress ? { localAddress } : {}) });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Implicit TLS (RFC 8314), verifying as `localhost` unless `options` say otherwise. */
  protected static tlsSocketTo(port: number, options: ConnectionOptions = {}): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ...options }, () => resolve(socket));
      socket.once('error', reject);
    });
  }

  get closed(): boolean {
    return this.ended;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** One CRLF-terminated line, without the CRLF. */
  line(timeoutMs = 10_000): Promise<string> {
    return this.read(
      (buffer) => {
        const end = buffer.indexOf('\r\n');
        return end < 0 ? undefined : { value: buffer.subarray(0, end).toString('latin1'), used: end + 2 };
      },
      'a line',
      timeoutMs,
    );
  }

  /**
   * The first value `parse` finds at the start of what was received, once it can; `used`
   * bytes are consumed. Rejects when the connection closes first or `timeoutMs` passes.
   */
  async read<T>(parse: (buffer: Buffer) => { readonly value: T; readonly used: number } | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = parse(this.buffer);
      if (found) {
        this.buffer = this.buffer.subarray(found.used);
        return found.value;
      }
      if (this.ended) throw new Error(`connection closed while waiting for ${what}; unread: ${this.unread()}`);
      await this.wait(deadline, what);
    }
  }

  /** Whatever arrives until the server closes the connection. */
  async rest(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) await this.wait(deadline, 'the server to close the connection');
    const text = this.buffer.toString('latin1');
    this.buffer = Buffer.alloc(0);
    return text;
  }

  /** True once the server has closed the connection, false if it has not within `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([this.closedPromise.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    return closed;
  }

  /** From now on every received chunk goes to `sink` (nothing may be left unread). */
  divert(sink: (chunk: Buffer) => void): void {
    if (this.buffer.length > 0) throw new Error(`unexpected bytes before the diversion: ${this.unread()}`);
    this.sink = sink;
  }

  /** After the server's go-ahead (STLS, STARTTLS): the TLS handshake on this connection. */
  startTls(options: ConnectionOptions = {}): Promise<TLSSocket> {
    const raw = this.socket;
    raw.off('data', this.onData);
    return new Promise((resolve, reject) => {
      const secure = tlsConnect({ socket: raw, servername: 'localhost', ...options }, () => resolve(secure));
      secure.on('data', this.onData);
      secure.on('error', reject);
      this.socket = secure;
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData);
    socket.on('close', () => {
      this.ended = true;
      this.markClosed();
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  private unread(): string {
    return JSON.stringify(this.buffer.toString('latin1').slice(0, 200));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private wait(deadline: number, what: string): Promise<void> {
    const left = deadline - Date.now();
    const timedOut = (): Error => new Error(`timed out waiting for ${what}; have ${this.unread()}`);
    if (left <= 0) return Promise.reject(timedOut());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(timedOut()), left);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
