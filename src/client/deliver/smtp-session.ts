import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { DotStuffer } from '../../message/dot-stuffer.js';
import { DeliveryError } from './types.js';

const MAX_REPLY_LINES = 100;
const MAX_LINE = 4096;

export interface SmtpTarget {
  readonly protocol: 'smtp' | 'lmtp';
  readonly host: string;
  readonly port: number;
  /** Our name in EHLO/LHLO. */
  readonly heloName: string;
  readonly timeoutMs: number;
}

interface Reply {
  readonly code: number;
  readonly lines: readonly string[];
}

/**
 * A minimal SMTP (RFC 5321) / LMTP (RFC 2033) client for handing fetched mail to a local
 * MTA or to postel's own intake: one transaction per connection, one recipient, the
 * message dot-stuffed as it streams (with the socket's backpressure), every reply
 * checked. 4xx replies and connection problems are temporary failures, 5xx permanent.
 */
export class SmtpSession {
  private buffer = '';
  private lines: string[] = [];
  private waiter: (() => void) | undefined;
  private closed: DeliveryError | undefined;
  private extensions = new Set<string>();

  private constructor(
    private readonly socket: Socket,
    private readonly target: SmtpTarget,
  ) {
    socket.setEncoding('latin1');
    socket.on('data', (text: string) => {
      this.buffer += text;
      if (this.buffer.length > MAX_LINE * MAX_REPLY_LINES) this.fail(new DeliveryError(`${this.where}: reply too long`, true));
      let lf;
      while ((lf = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, lf).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(lf + 1);
      }
      this.wake();
    });
    socket.on('error', (err) => this.fail(new DeliveryError(`${this.where}: ${err.message}`, true, { cause: err })));
    socket.on('close', () => this.fail(new DeliveryError(`${this.where}: connection closed`, true)));
  }

  static async open(target: SmtpTarget): Promise<SmtpSession> {
    const socket = connect({ host: target.host, port: target.port });
    const session = new SmtpSession(socket, target);
    await session.withTimeout(once(socket, 'connect').then(() => undefined), 'connecting');
    await session.expect(await session.reply('greeting'), 220, 'greeting');
    const hello = target.protocol === 'lmtp' ? 'LHLO' : 'EHLO';
    let reply = await session.command(`${hello} ${target.heloName}`);
    if (reply.code >= 500 && target.protocol === 'smtp') reply = await session.command(`HELO ${target.heloName}`);
    session.expect(reply, 250, hello);
    for (const line of reply.lines.slice(1)) session.extensions.add(line.split(/\s+/)[0]?.toUpperCase() ?? '');
    return session;
  }

  private get where(): string {
    return `${this.target.protocol.toUpperCase()} ${this.target.host}:${this.target.port}`;
  }

  /** One transaction; resolves when the server has taken responsibility for the message. */
  async send(sender: string, recipient: string, message: Readable): Promise<void> {
    const body = this.extensions.has('8BITMIME') ? ' BODY=8BITMIME' : '';
    this.expect(await this.command(`MAIL FROM:<${sender}>${body}`), 250, 'MAIL FROM');
    const rcpt = await this.command(`RCPT TO:<${recipient}>`);
    if (rcpt.code !== 250 && rcpt.code !== 251) this.expect(rcpt, 250, 'RCPT TO');
    this.expect(await this.command('DATA'), 354, 'DATA');
    const stuffer = new DotStuffer();
    for await (const chunk of message as AsyncIterable<Buffer>) {
      await this.write(stuffer.push(chunk));
    }
    await this.write(stuffer.end());
    // LMTP answers once per accepted recipient (RFC 2033 section 4.2); we sent one.
    this.expect(await this.reply('end of data'), 250, 'end of data');
  }

  async quit(): Promise<void> {
    try {
      if (!this.closed) {
        this.socket.write('QUIT\r\n');
        await this.reply('QUIT').catch(() => undefined);
      }
    } finally {
      this.socket.destroy();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  private async command(line: string): Promise<Reply> {
    await this.write(Buffer.from(`${line}\r\n`, 'latin1'));
    return this.reply(line.split(/[ :]/)[0] ?? line);
  }

  private async write(bytes: Buffer): Promise<void> {
    if (this.closed) throw this.closed;
    if (bytes.length === 0) return;
    if (!this.socket.write(bytes)) await this.withTimeout(once(this.socket, 'drain').then(() => undefined), 'sending');
  }

  /** A whole reply: "250-..." continuation lines up to the "250 ..." last line. */
  private async reply(what: string): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line(what);
      const m = /^([2-5][0-9][0-9])([ -]|$)(.*)$/.exec(line);
      if (!m) throw this.fail(new DeliveryError(`${this.where}: malformed reply to ${what}: ${JSON.stringify(line.slice(0, 100))}`, true));
      lines.push(m[3] as string);
      if (m[2] !== '-') return { code: Number(m[1]), lines };
      if (lines.length >= MAX_REPLY_LINES) throw this.fail(new DeliveryError(`${this.where}: reply to ${what} too long`, true));
    }
  }

  private async line(what: string): Promise<string> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line;
      if (this.closed) throw this.closed;
      await this.withTimeout(new Promise<void>((resolve) => (this.waiter = resolve)), `waiting for the reply to ${what}`);
    }
  }

  private expect(reply: Reply, code: number, what: string): void {
    if (reply.code === code) return;
    const text = `${this.where} refused ${what}: ${reply.code} ${reply.lines.join(' ')}`.trim();
    throw new DeliveryError(text, reply.code < 500);
  }

  private withTimeout(promise: Promise<void>, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(this.fail(new DeliveryError(`${this.where}: timed out ${what}`, true))), this.target.timeoutMs);
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private fail(err: DeliveryError): DeliveryError {
    this.closed ??= err;
    this.socket.destroy();
    this.wake();
    return this.closed;
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}
