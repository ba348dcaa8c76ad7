import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket, type TlsOptions } from 'node:tls';

/**
 * Server-side TLS on sockets we accepted ourselves (implicit TLS after a PROXY header, STLS):
 * each one is handed to a tls.Server that never listens (`emit('connection')`, as for any
 * net.Server), so OpenSSL verifies client certificates under the server's options and Node
 * reports the verdict as `authorized` / `authorizationError`. Nothing is checked by hand.
 *
 * Bytes already read from the socket (what followed a PROXY header) go back with
 * `socket.unshift` first: a TLSSocket starts by consuming what its socket has buffered.
 */
export class TlsAcceptor {
  private readonly server: Server;
  private readonly pending = new Map<string, { resolve: (s: TLSSocket) => void; reject: (e: Error) => void }>();

  /** `options` as for tls.createServer: key, cert, SNICallback, ca with requestCert... */
  constructor(options: TlsOptions, handshakeTimeoutMs = 30_000) {
    this.server = createServer({ ...options, handshakeTimeout: handshakeTimeoutMs });
    this.server.on('secureConnection', (socket: TLSSocket) => this.settle(socket, null));
    this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.settle(socket, err));
  }

  /**
   * Runs the server side of a handshake on `raw` (paused, not yet read by anyone else).
   * Resolves with the TLS socket once it is up; renegotiation is refused afterwards.
   */
  accept(raw: Socket, head: Buffer = Buffer.alloc(0)): Promise<TLSSocket> {
    const key = keyOf(raw);
    return new Promise((resolve, reject) => {
      const onClose = (): void => {
        this.pending.delete(key);
        reject(new Error('closed during the TLS handshake'));
      };
      raw.once('close', onClose);
      this.pending.set(key, {
        resolve: (socket) => {
          raw.off('close', onClose);
          // disableRenegotiation only reports an attempt as an error; ending the connection
          // is ours to do, and so for any other TLS error after the handshake.
          socket.on('error', () => socket.destroy());
          socket.disableRenegotiation();
          resolve(socket);
        },
        reject: (err) => {
          raw.off('close', onClose);
          raw.destroy();
          reject(err);
        },
      });
      if (head.length > 0) raw.unshift(head);
      this.server.emit('connection', raw);
    });
  }

  private settle(socket: TLSSocket, err: Error | null): void {
    const key = keyOf(socket);
    const waiting = this.pending.get(key);
    if (!waiting) {
      socket.destroy();
      return;
    }
    this.pending.delete(key);
    if (err) waiting.reject(err);
    else waiting.resolve(socket);
  }
}

/**
 * A live connection is one (local port, peer address, peer port); the TLS socket reports the
 * same ones as the socket it wraps.
 */
function keyOf(socket: Socket): string {
  return `${socket.localPort ?? ''}|${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}
