import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';

/** Where a load client connects. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** PEM of the server's (self-signed) certificate, to verify it as a real client would. */
  readonly ca?: string;
}

const CRLF = Buffer.from('\r\n');

/**
 * One TLS context per trusted certificate: made per connection (as passing `ca` to
 * tls.connect does), parsing the PEM would cost the client more than the handshake.
 */
const contexts = new Map<string, SecureContext>();
function contextFor(ca: string): SecureContext {
  let context = contexts.get(ca);
  if (!context) contexts.set(ca, (context = createSecureContext({ ca })));
  return context;
}
const TERMINATOR = Buffer.from('\r\n.\r\n');

interface Waiter {
  readonly multi: boolean;
  readonly resolve: (r: Reply) => void;
  readonly reject: (e: Error) => void;
}

export interface Reply {
  readonly ok: boolean;
  readonly line: string;
  /** Octets after the status line of a multi-line answer, terminator included. */
  readonly bodyBytes: number;
}

/**
 * A deliberately small POP3 client for load generation: one command at a time, replies
 * parsed just enough to know where they end. Multi-line bodies are counted, never kept,
 * so a client can take in hundreds of MB/s without becoming the bottleneck.
 */
export class Pop3Conn {
  private waiter: Waiter | null = null;
  /** Bytes of a status line not yet complete. */
  private head: Buffer | null = null;
  private inBody = false;
  private bodyBytes = 0;
  private statusLine = '';
  /** The last bytes of a body so far, to find a terminator split across chunks. */
  private tail: Buffer = CRLF;
  private failure: Error | null = null;

  private constructor(readonly socket: Socket | TLSSocket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  /** Connects and reads the greeting. `session` resumes a TLS session (a ticket). */
  static open(endpoint: Endpoint, options: { session?: Buffer; onSession?: (s: Buffer) => void; timeoutMs?: number } = {}): Promise<Pop3Conn> {
    return new Promise((resolve, reject) => {
      let socket: Socket | TLSSocket;
      if (endpoint.tls) {
        const tls = tlsConnect({
          host: endpoint.host,
          port: endpoint.port,
          servername: 'localhost',
          ...(endpoint.ca ? { secureContext: contextFor(endpoint.ca) } : { rejectUnauthorized: false }),
          ...(options.session ? { session: options.session } : {}),
        });
        if (options.onSession) tls.on('session', options.onSession);
        socket = tls;
      } else {
        socket = netConnect({ host: endpoint.host, port: endpoint.port, noDelay: true });
      }
      const conn = new Pop3Conn(socket);
      const timer = setTimeout(() => conn.fail(new Error('greeting timed out')), options.timeoutMs ?? 30_000);
      conn.expect(false).then(
        (r) => {
          clearTimeout(timer);
          if (r.ok) resolve(conn);
          else {
            socket.destroy();
            reject(new Error(`refused: ${r.line}`));
          }
        },
        (err: Error) => {
          clearTimeout(timer);
          socket.destroy();
          reject(err);
        },
      );
    });
  }

  /** Sends one command and reads a one-line reply. */
  command(line: string): Promise<Reply> {
    const reply = this.expect(false);
    this.socket.write(`${line}\r\n`);
    return reply;
  }

  /** Sends a command whose +OK answer is multi-line (RETR, LIST, UIDL, TOP). */
  multiline(line: string): Promise<Reply> {
    const reply = this.expect(true);
    this.socket.write(`${line}\r\n`);
    return reply;
  }

  /** USER/PASS; throws unless both succeed. */
  async login(user: string, password: string): Promise<Reply> {
    const u = await this.command(`USER ${user}`);
    if (!u.ok) throw new Error(`USER refused: ${u.line}`);
    const p = await this.command(`PASS ${password}`);
    if (!p.ok) throw new Error(`PASS refused for ${user}: ${p.line}`);
    return p;
  }

  /** QUIT, then close our side without waiting for the server's. */
  async quit(): Promise<void> {
    try {
      await this.command('QUIT');
    } finally {
      this.socket.end();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private expect(multi: boolean): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiter) return Promise.reject(new Error('command already in flight'));
    return new Promise((resolve, reject) => {
      this.waiter = { multi, resolve, reject };
      this.inBody = false;
      this.bodyBytes = 0;
      this.tail = CRLF;
    });
  }

  private onData(chunk: Buffer): void {
    const w = this.waiter;
    if (!w) return; // Nothing asked: the server spoke out of turn (e.g. an autologout line).
    if (!this.inBody) {
      const data = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const eol = data.indexOf(CRLF);
      if (eol < 0) {
        this.head = data;
        return;
      }
      this.head = null;
      this.statusLine = data.toString('latin1', 0, eol);
      const ok = this.statusLine.startsWith('+OK');
      if (!w.multi || !ok) return this.settle({ ok, line: this.statusLine, bodyBytes: 0 });
      this.inBody = true;
      chunk = data.subarray(eol + 2);
      if (chunk.length === 0) return;
    }
    this.bodyBytes += chunk.length;
    // Dot-stuffing guarantees CRLF.CRLF only ends a body, and nothing follows it until the
    // next command, so it can only sit at the end of what has arrived.
    this.tail = chunk.length >= 5 ? chunk.subarray(chunk.length - 5) : Buffer.concat([this.tail, chunk]).subarray(-5);
    // The tail starts as the status line's CRLF, so an empty body (".\r\n") matches too.
    if (this.tail.length === 5 && this.tail.equals(TERMINATOR)) {
      this.settle({ ok: true, line: this.statusLine, bodyBytes: this.bodyBytes });
    }
  }

  private settle(reply: Reply): void {
    const w = this.waiter;
    this.waiter = null;
    this.inBody = false;
    w?.resolve(reply);
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(err);
  }
}
