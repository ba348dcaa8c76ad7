import type { Socket } from 'node:net';
import type { Transport } from './transport.js';

/** A Transport over a TCP (or, later, TLS) socket. */
export class SocketTransport implements Transport {
  private ended = false;

  constructor(
    private readonly socket: Socket,
    readonly secure: boolean,
  ) {}

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? 'unknown';
  }

  get closed(): boolean {
    return this.ended || this.socket.destroyed;
  }

  write(data: string | Buffer): boolean {
    if (this.closed) return true;
    return this.socket.write(data);
  }

  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  pauseInput(): void {
    this.socket.pause();
  }

  resumeInput(): void {
    if (!this.closed) this.socket.resume();
  }

  end(): void {
    if (this.closed) return;
    this.ended = true;
    this.socket.end();
  }

  destroy(): void {
    this.ended = true;
    this.socket.destroy();
  }
}
