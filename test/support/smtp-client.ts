import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { LineClient } from './line-client.js';

export interface SmtpReply {
  readonly code: number;
  /** Every line's text after "NNN-" / "NNN ", joined with \n. */
  readonly text: string;
  /** The whole reply as sent, lines joined with \n (no CR). */
  readonly raw: string;
}

const REPLY = /^(?:\d{3}-[^\r\n]*\r\n)*\d{3}(?: [^\r\n]*)?\r\n/;

/**
 * A raw SMTP/LMTP peer for tests (see LineClient): exact commands out, replies parsed only
 * into code and text, so the server's replies are checked as a client sees them.
 */
export class SmtpTestClient extends LineClient {
  static async connect(port: number | string, host = '127.0.0.1', localAddress?: string): Promise<SmtpTestClient> {
    return new SmtpTestClient(await LineClient.socketTo(port, host, localAddress));
  }

  /** Connects (from `localAddress` if given) and reads the 220 greeting. */
  static async open(port: number | string, localAddress?: string): Promise<SmtpTestClient> {
    const client = await SmtpTestClient.connect(port, '127.0.0.1', localAddress);
    const greeting = await client.reply();
    if (greeting.code !== 220) throw new Error(`greeting: ${greeting.raw}`);
    return client;
  }

  /** RFC 8314 implicit TLS (the server's certificate is not checked), then the 220 greeting. */
  static async openTls(port: number, options: ConnectionOptions = {}): Promise<SmtpTestClient> {
    const client = new SmtpTestClient(await LineClient.tlsSocketTo(port, { rejectUnauthorized: false, ...options }));
    const greeting = await client.reply();
    if (greeting.code !== 220) throw new Error(`greeting: ${greeting.raw}`);
    return client;
  }

  async command(line: string): Promise<SmtpReply> {
    this.send(`${line}\r\n`);
    return this.reply();
  }

  /** Reads one (possibly multi-line) reply; rejects if the connection closes first. */
  reply(timeoutMs = 10_000): Promise<SmtpReply> {
    return this.read(
      (buffer) => {
        const m = REPLY.exec(buffer.toString('latin1'));
        if (!m) return undefined;
        const lines = buffer.subarray(0, m[0].length).toString('utf8').split('\r\n').filter((l) => l !== '');
        return { value: { code: Number(lines[0]?.slice(0, 3)), text: lines.map((l) => l.slice(4)).join('\n'), raw: lines.join('\n') }, used: m[0].length };
      },
      'an SMTP reply',
      timeoutMs,
    );
  }

  /** Sends a message body after 354, dot-stuffed, and returns the final reply. */
  async data(message: string | Buffer): Promise<SmtpReply> {
    const go = await this.command('DATA');
    if (go.code !== 354) return go;
    this.send(dotStuff(message));
    return this.reply();
  }

  /** After 220 to STARTTLS: the handshake on this connection (the server's certificate is not checked). */
  override startTls(options: ConnectionOptions = {}): Promise<TLSSocket> {
    return super.startTls({ rejectUnauthorized: false, ...options });
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
