import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { tlsSessionInfo } from '../tls/session-info.js';
import type { TlsSessionInfo } from '../tls/session-info.js';
import type { Transport } from './transport.js';

export interface ConnectionOptions {
  readonly remoteAddress: string;
  /** The client is on a trusted network (loopback by default): plaintext logins allowed. */
  readonly trusted: boolean;
  /** The server side of the STLS handshake (CertificateStore.acceptTls); absent when TLS is not configured. */
  readonly startTls?: (raw: Socket) => Promise<TLSSocket>;
  readonly idleTimeoutMs: number;
  readonly onData: (chunk: Buffer) => void;
  readonly onTimeout: () => void;
  readonly onClose: () => void;
}

/**
 * One client connection as a Transport: plain TCP, implicit TLS, or TCP upgraded by STLS.
 * The socket underneath can change once (at STLS); the session never sees that.
 */
export class Connection implements Transport {
  private socket: Socket;
  private ended = false;
  private tlsInfo: TlsSessionInfo | null;
  private readonly options: ConnectionOptions;
  private received = 0;
  private sent = 0;

  constructor(socket: Socket, options: ConnectionOptions) {
    this.socket = socket;
    this.options = options;
    this.tlsInfo = socket instanceof TLSSocket ? tlsSessionInfo(socket) : null;
    this.attach(socket);
    // 'close' of the raw socket fires once, also for a TLS socket layered on it.
    socket.once('close', () => {
      this.ended = true;
      options.onClose();
    });
  }

  get remoteAddress(): string {
    return this.options.remoteAddress;
  }

  get secure(): boolean {
    return this.tlsInfo !== null || this.options.trusted;
  }

  get tls(): TlsSessionInfo | null {
    return this.tlsInfo;
  }

  get canStartTls(): boolean {
    return this.tlsInfo === null && this.options.startTls !== undefined && !this.closed;
  }

  get bytesIn(): number {
    return this.received;
  }

  get bytesOut(): number {
    return this.sent;
  }

  get closed(): boolean {
    return this.ended || this.socket.destroyed;
  }

  write(data: string | Buffer, flushed?: () => void): boolean {
    if (this.closed) {
      flushed?.();
      return true;
    }
    this.sent += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    return flushed ? this.socket.write(data, () => flushed()) : this.socket.write(data);
  }

  drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    const socket = this.socket;
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  cork(): void {
    if (!this.closed) this.socket.cork();
  }

  uncork(): void {
    // Also when closed: a cork left on would keep the socket from ever flushing.
    this.socket.uncork();
  }

  pauseInput(): void {
    this.socket.pause();
  }

  resumeInput(): void {
    if (!this.closed) this.socket.resume();
  }

  async startTls(okLine: string): Promise<void> {
    const startTls = this.options.startTls;
    if (!startTls || this.tlsInfo) throw new Error('TLS not available on this connection');
    const raw = this.socket;
    // All in one tick: stop reading, answer, wrap. The client sends its ClientHello only
    // after the +OK, so it reaches TLS; anything it pipelined before was already read into
    // the session's buffers, which the session drops, and never becomes a command.
    raw.pause();
    this.detach(raw);
    raw.write(okLine);
    this.sent += Buffer.byteLength(okLine);
    const secure = await startTls(raw);
    this.socket = secure;
    this.tlsInfo = tlsSessionInfo(secure);
    this.attach(secure);
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

  private readonly dataHandler = (chunk: Buffer): void => {
    this.received += chunk.length;
    this.options.onData(chunk);
  };
  private readonly timeoutHandler = (): void => this.options.onTimeout();

  private attach(socket: Socket): void {
    socket.on('data', this.dataHandler);
    socket.setTimeout(this.options.idleTimeoutMs, this.timeoutHandler);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.dataHandler);
    socket.setTimeout(0);
    socket.off('timeout', this.timeoutHandler);
  }
}
