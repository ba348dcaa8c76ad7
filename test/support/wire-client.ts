import type { ConnectionOptions } from 'node:tls';
import { LineClient } from './line-client.js';

const TERMINATOR = Buffer.from('.\r\n');

/** A raw POP3 peer for tests (see LineClient): exact commands out, exact bytes in. */
export class WireClient extends LineClient {
  static async connect(port: number, host = '127.0.0.1'): Promise<WireClient> {
    return new WireClient(await LineClient.socketTo(port, host));
  }

  /** Connects with implicit TLS (RFC 8314). */
  static async connectTls(port: number, options: ConnectionOptions = {}): Promise<WireClient> {
    return new WireClient(await LineClient.tlsSocketTo(port, options));
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

  /** The body of a multi-line response, up to and excluding the terminating ".\r\n", still dot-stuffed. */
  body(timeoutMs = 30_000): Promise<Buffer> {
    return this.read(
      (buffer) => {
        if (buffer.length >= 3 && buffer.subarray(0, 3).equals(TERMINATOR)) return { value: Buffer.alloc(0), used: 3 };
        const end = buffer.indexOf('\r\n.\r\n');
        return end < 0 ? undefined : { value: Buffer.from(buffer.subarray(0, end + 2)), used: end + 5 };
      },
      'the end of a multi-line response',
      timeoutMs,
    );
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
