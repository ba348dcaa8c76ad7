import { connect, type Socket } from 'node:net';

/**
 * A client that counts: every octet it sends and receives, so a test can hold the server's
 * own counts of a session against the truth. Reads wait on socket events, bounded in time.
 */
export class RawPeer {
  sent = 0;
  private received = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  get receivedBytes(): number {
    return this.received.length;
  }

  get text(): string {
    return this.received.toString('latin1');
  }

  send(data: string): void {
    this.sent += Buffer.byteLength(data);
    this.socket.write(data);
  }

  /** Waits until everything received so far matches `pattern`. */
  async until(pattern: RegExp, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.text)) {
      if (this.closed) throw new Error(`closed before ${pattern}; got ${JSON.stringify(this.text)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
