import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface SmtpReply {
  readonly code: number;
  /** Every line's text after "NNN-" / "NNN ", joined with \n. */
  readonly text: string;
  /** The whole reply as sent, lines joined with \n (no CR). */
  readonly raw: string;
}

/**
 * A raw SMTP/LMTP peer for tests: exact commands out, replies parsed only into code and
 * text, so the server's replies are checked as a client sees them.
 */
export class SmtpTestClient {
  private buffer = '';
  private waiters: (() => void)[] = [];
  private ended = false;

  private readonly onData = (chunk: Buffer): void => {
    this.buffer += chunk.toString('utf8');
    this.wake();
  };

  private constructor(private socket: Socket) {
    socket.on('data', this.onData);
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number | string, host = '127.0.0.1'): Promise<SmtpTestClient> {
    return new Promise((resolve, reject) => {
      const socket = typeof port === 'string' ? connect({ path: port }) : connect({ port, host });
      socket.once('connect', () => resolve(new SmtpTestClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects and reads the 220 greeting. */
  static async open(port: number | string): Promise<SmtpTestClient> {
    const client = await SmtpTestClient.connect(port);
    const greeting = await client.reply();
    if (greeting.code !== 220) throw new Error(`greeting: ${greeting.raw}`);
    return client;
  }

  get closed(): boolean {
    return this.ended;
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  async command(line: string): Promise<SmtpReply> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  /** Reads one (possibly multi-line) reply; rejects if the connection closes first. */
  async reply(timeoutMs = 10000): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/.exec(this.buffer);
      if (m) {
        this.buffer = this.buffer.slice(m[0].length);
        const lines = m[0].split('\r\n').filter((l) => l !== '');
        return { code: Number(lines[0]?.slice(0, 3)), text: lines.map((l) => l.slice(4)).join('\n'), raw: lines.join('\n') };
      }
      if (this.ended) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer)}`);
      if (Date.now() > deadline) throw new Error(`no reply; unread: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a message body after 354, dot-stuffed, and returns the final reply. */
  async data(message: string | Buffer): Promise<SmtpReply> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    this.send(dotStuff(message));
    return this.reply();
  }

  /** After 220 to STARTTLS: the handshake on this connection. */
  async startTls(options: ConnectionOptions = {}): Promise<void> {
    const raw = this.socket;
    raw.off('data', this.onData);
    await new Promise<void>((resolve, reject) => {
      const secure = tlsConnect({ socket: raw, servername: 'localhost', rejectUnauthorized: false, ...options }, () => resolve());
      secure.on('data', this.onData);
      secure.on('error', reject);
      secure.on('close', () => {
        this.ended = true;
        this.wake();
      });
      this.socket = secure;
    });
  }

  /** Resolves when the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.ended;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** CRLF line ends, leading dots doubled, then the terminating dot line. */
export function dotStuff(message: string | Buffer): Buffer {
  const text = (typeof message === 'string' ? Buffer.from(message, 'utf8') : message).toString('latin1');
  const crlf = text.replace(/\r?\n/g, '\r\n');
  const body = crlf.endsWith('\r\n') ? crlf : `${crlf}\r\n`;
  return Buffer.from(`${body.replace(/^\./gm, '..')}.\r\n`, 'latin1');
}

/** A session up to an accepted RCPT for each of `to` (LHLO for LMTP). */
export async function envelope(client: SmtpTestClient, from: string, to: readonly string[], lmtp = false): Promise<SmtpReply[]> {
  await client.command(`${lmtp ? 'LHLO' : 'EHLO'} client.test`);
  const mail = await client.command(`MAIL FROM:<${from}>`);
  if (mail.code !== 250) throw new Error(`MAIL: ${mail.raw}`);
  const replies: SmtpReply[] = [];
  for (const rcpt of to) replies.push(await client.command(`RCPT TO:<${rcpt}>`));
  return replies;
}
