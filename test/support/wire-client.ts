import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

/**
 * A deliberately dumb POP3 peer for tests: it sends exact bytes and reads exact bytes, so
 * tests see the server's framing as a client would, with nothing smoothed over.
 */
export class WireClient {
  private buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    this.wake();
  };

  private constructor(public socket: Socket) {
    socket.on('data', this.onData);
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects with implicit TLS (RFC 8314). */
  static connectTls(port: number, options: ConnectionOptions = {}): Promise<WireClient> {
    return new Promise((resolve, reject) => {
      const socket = tlsConnect({ port, host: '127.0.0.1', servername: 'localhost', ...options }, () => resolve(new WireClient(socket)));
      socket.once('error', reject);
    });
  }

  /** After a +OK to STLS: runs the TLS handshake on this connection. */
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

  get closed(): boolean {
    return this.ended;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Sends a command line with CRLF and returns the first response line. */
  async command(line: string): Promise<string> {
    this.send(`${line}\r\n`);
    return this.line();
  }

  /** Sends a command and reads a whole multi-line response (status line plus body up to "."). */
  async multi(line: string): Promise<{ status: string; body: Buffer }> {
    this.send(`${line}\r\n`);
    const status = await this.line();
    if (!status.startsWith('+OK')) return { status, body: Buffer.alloc(0) };
    return { status, body: await this.body() };
  }

  /** One CRLF-terminated line, without the CRLF. */
  async line(timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end >= 0) {
        const line = this.buffer.subarray(0, end).toString('latin1');
        this.buffer = this.buffer.subarray(end + 2);
        return line;
      }
      if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`);
      await this.wait(deadline);
    }
  }

  /** The body of a multi-line response, up to and excluding the terminating ".\r\n", still dot-stuffed. */
  async body(timeoutMs = 30000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buffer.length >= 3 && this.buffer.subarray(0, 3).equals(Buffer.from('.\r\n')) ? 0 : this.buffer.indexOf('\r\n.\r\n');
      if (end === 0) {
        this.buffer = this.buffer.subarray(3);
        return Buffer.alloc(0);
      }
      if (end > 0) {
        const body = this.buffer.subarray(0, end + 2);
        this.buffer = this.buffer.subarray(end + 5);
        return body;
      }
      if (this.ended) throw new Error('connection closed inside a multi-line response');
      await this.wait(deadline);
    }
  }

  /** Whatever arrives until the server closes the connection. */
  async rest(timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) await this.wait(deadline);
    const text = this.buffer.toString('latin1');
    this.buffer = Buffer.alloc(0);
    return text;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private wait(deadline: number): Promise<void> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.reject(new Error(`timed out waiting for the server; have ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for the server; have ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`)), left);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** Undoes RFC 1939 byte-stuffing of a multi-line body. */
export function unstuff(body: Buffer): Buffer {
  const text = body.toString('latin1');
  return Buffer.from(text.replace(/(^|\r\n)\./g, '$1'), 'latin1');
}

/** The wire form of stored bytes: every line ending CRLF and the last line terminated. */
export function crlf(message: string | Buffer): Buffer {
  let text = (typeof message === 'string' ? Buffer.from(message, 'utf8') : message).toString('latin1').replace(/(?<!\r)\n/g, '\r\n');
  if (text.length > 0 && !text.endsWith('\n')) text += '\r\n';
  return Buffer.from(text, 'latin1');
}
