import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { Session, type SessionDeps } from './session.js';
import { SocketTransport } from './socket-transport.js';

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** RFC 1939 autologout timer: at least 10 minutes in production. */
  readonly idleTimeoutMs: number;
}

/** Addresses whose connections count as secure for plaintext logins (loopback). */
function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/**
 * A POP3 listener: accepts connections within the limits, runs a Session on each, and on
 * close() stops accepting and ends every session without committing it.
 */
export class Pop3Server {
  private readonly server: Server;
  private readonly sessions = new Set<Session>();
  private readonly sockets = new Set<Socket>();
  private readonly perIp = new Map<string, number>();
  private readonly log: Logger;
  private closing = false;

  constructor(
    private readonly options: ListenerOptions,
    private readonly deps: SessionDeps,
  ) {
    this.log = deps.logger.child({ listener: 'pop3' });
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => this.log.error({ err }, 'listener error'));
  }

  get connections(): number {
    return this.sessions.size;
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops accepting, ends all sessions uncommitted (a QUIT already committing finishes). */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.all([...this.sessions].map((s) => s.shutdown()));
    // Sessions have said goodbye; a peer that does not close its side is cut off.
    const grace = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await stopped;
    clearTimeout(grace);
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? 'unknown';
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.log.debug({ err, remote: ip }, 'socket error'));
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.closing || this.sessions.size >= this.options.maxConnections || fromIp >= this.options.maxConnectionsPerIp) {
      const why = this.closing ? 'Server shutting down' : 'Too many connections; try again later';
      this.log.warn({ event: 'connection_refused', remote: ip, reason: why }, 'connection refused');
      socket.end(`-ERR [SYS/TEMP] ${why}\r\n`);
      return;
    }
    this.perIp.set(ip, fromIp + 1);
    const session = new Session(new SocketTransport(socket, isLoopback(ip)), this.deps);
    this.sessions.add(session);
    socket.setTimeout(this.options.idleTimeoutMs, () => void session.timeout());
    socket.on('data', (chunk: Buffer) => session.receive(chunk));
    socket.on('close', () => {
      this.sessions.delete(session);
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(ip);
      else this.perIp.set(ip, left);
      void session.disconnected();
    });
    session.start();
  }
}
