import type { TlsSessionInfo } from '../tls/session-info.js';

/**
 * What a session needs from a connection. The protocol core sees only this, never a
 * socket, so it runs the same over TCP, TLS or an in-memory pair in tests.
 */
export interface Transport {
  readonly remoteAddress: string;
  /** TLS, or a network the config trusts; decides whether plaintext logins are allowed. */
  readonly secure: boolean;
  /** Set once TLS is up (implicit TLS or after STLS). */
  readonly tls: TlsSessionInfo | null;
  /** Whether STLS may start TLS here now (TLS is configured and not yet active). */
  readonly canStartTls: boolean;
  readonly closed: boolean;
  /** Octets received from and queued to the client so far (TLS records' payload, not their overhead). */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /**
   * Queues bytes. False means the peer is slow: await drained() before writing more.
   * `flushed` is called once the bytes have been handed to the operating system (or the
   * connection failed), after which the caller may reuse `data`.
   */
  write(data: string | Buffer, flushed?: () => void): boolean;
  /** Resolves when queued bytes have been flushed, or the connection has closed. */
  drained(): Promise<void>;
  /**
   * Holds writes until uncork(), which sends them together: a reply made of several pieces
   * (status line, message, terminator) leaves in one system call and wakes the client once.
   */
  cork(): void;
  uncork(): void;
  pauseInput(): void;
  resumeInput(): void;
  /**
   * RFC 2595 STLS: sends `okLine` (the +OK to STLS) and runs the TLS handshake. Bytes the
   * client sent before the handshake are dropped, never read as commands. Rejects when the
   * handshake fails.
   */
  startTls(okLine: string): Promise<void>;
  /** Flushes what was written, then closes. */
  end(): void;
  /** Closes at once, dropping anything unsent. */
  destroy(): void;
}
