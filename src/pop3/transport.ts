/**
 * What a session needs from a connection. The protocol core sees only this, never a
 * socket, so it runs the same over TCP, TLS or an in-memory pair in tests.
 */
export interface Transport {
  readonly remoteAddress: string;
  /** TLS, or a network the config trusts; decides whether plaintext logins are allowed. */
  readonly secure: boolean;
  readonly closed: boolean;
  /** Queues bytes. False means the peer is slow: await drained() before writing more. */
  write(data: string | Buffer): boolean;
  /** Resolves when queued bytes have been flushed, or the connection has closed. */
  drained(): Promise<void>;
  pauseInput(): void;
  resumeInput(): void;
  /** Flushes what was written, then closes. */
  end(): void;
  /** Closes at once, dropping anything unsent. */
  destroy(): void;
}
