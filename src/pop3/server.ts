import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { readProxyHeader } from '../net/proxy-protocol.js';
import { NetworkSet, plainAddress } from '../net/trusted-networks.js';
import type { CertificateStore } from '../tls/certificates.js';
import { Connection } from './connection.js';
import { Session, type SessionDeps } from './session.js';

export interface ListenerSpec {
  readonly host: string;
  readonly port: number;
  /** RFC 8314 implicit TLS (port 995) instead of plain POP3 with STLS (port 110). */
  readonly implicitTls: boolean;
  /** Expect a HAProxy PROXY v1/v2 header first; connections without a valid one are closed. */
  readonly proxyProtocol: boolean;
}

export interface ServerOptions {
  readonly listeners: readonly ListenerSpec[];
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** RFC 1939 autologout timer: at least 10 minutes in production. */
  readonly idleTimeoutMs: number;
  /** Clients here may log in with plaintext passwords without TLS. */
  readonly trustedNetworks: NetworkSet;
  /** Peers whose PROXY header is believed; on a PROXY listener everyone else is closed unheard. */
  readonly proxyTrustedNetworks: NetworkSet;
  /** How long a PROXY header or a TLS handshake may take. */
  readonly handshakeTimeoutMs?: number;
  /**
   * How long a connection may stay without logging in, counted from accept (PROXY header
   * and TLS handshake included), so that silent connections cannot hold the slots.
   */
  readonly loginTimeoutMs: number;
}

export interface BoundListener extends ListenerSpec {
  readonly address: AddressInfo;
}

/**
 * The POP3 listeners: accepts connections within the limits (counted over all listeners),
 * reads a PROXY header and runs implicit TLS where configured, runs a Session on each, and
 * on close() stops accepting and ends every session without committing it.
 */
export class Pop3Server {
  private readonly servers: { server: Server; spec: ListenerSpec }[] = [];
  private readonly sessions = new Set<Session>();
  private readonly sockets = new Set<Socket>();
  private readonly perIp = new Map<string, number>();
  private readonly log: Logger;
  private closing = false;

  constructor(
    private readonly options: ServerOptions,
    private readonly deps: SessionDeps,
    private readonly certificates?: CertificateStore,
  ) {
    this.log = deps.logger.child({ listener: 'pop3' });
    for (const spec of options.listeners) {
      if (spec.implicitTls && !certificates) throw new Error('implicit TLS listener without certificates');
      const server = createServer({ noDelay: true, pauseOnConnect: true }, (socket) => void this.accept(socket, spec));
      server.on('error', (err) => this.log.error({ err }, 'listener error'));
      this.servers.push({ server, spec });
    }
  }

  get connections(): number {
    return this.sessions.size;
  }

  async listen(): Promise<BoundListener[]> {
    return Promise.all(
      this.servers.map(
        ({ server, spec }) =>
          new Promise<BoundListener>((resolve, reject) => {
            // Labelled, so that "port in use" names the listener that could not start.
            const onError = (err: Error): void => reject(Object.assign(err, { listener: spec.implicitTls ? 'pop3s' : 'pop3' }));
            server.once('error', onError);
            server.listen(spec.port, spec.host, () => {
              server.off('error', onError);
              resolve({ ...spec, address: server.address() as AddressInfo });
            });
          }),
      ),
    );
  }

  /** Stops accepting, ends all sessions uncommitted (a QUIT already committing finishes). */
  async close(graceMs = 2000): Promise<void> {
    this.closing = true;
    const stopped = Promise.all(this.servers.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
    await Promise.all([...this.sessions].map((s) => s.shutdown()));
    // Sessions have said goodbye; a peer that does not close its side is cut off.
    const grace = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, graceMs);
    await stopped;
    clearTimeout(grace);
  }

  private async accept(raw: Socket, spec: ListenerSpec): Promise<void> {
    raw.on('error', (err) => this.log.debug({ err, remote: raw.remoteAddress }, 'socket error'));
    const timeout = this.options.handshakeTimeoutMs ?? 30_000;
    let remote = plainAddress(raw.remoteAddress ?? 'unknown');
    this.sockets.add(raw);
    raw.on('close', () => this.sockets.delete(raw));
    // Counted from accept: a connection still sending its PROXY header or TLS handshake holds a slot too.
    if (this.closing || this.sockets.size > this.options.maxConnections) {
      this.refuse(raw, spec, remote);
      return;
    }
    let session: Session | undefined;
    const loginTimer = setTimeout(() => {
      if (session && session.state.name !== 'AUTHORIZATION') return;
      this.log.info({ event: 'login_timeout', remote, stage: session ? 'authorization' : 'handshake' }, 'closed: no login within login_timeout');
      if (session) void session.timeout('Login timeout; closing connection');
      else raw.destroy();
    }, this.options.loginTimeoutMs);
    raw.once('close', () => clearTimeout(loginTimer));
    let head: Buffer = Buffer.alloc(0);
    if (spec.proxyProtocol) {
      if (!this.options.proxyTrustedNetworks.has(remote)) {
        // Anyone else could claim any address: a trusted network's, or a fresh one per guess.
        this.log.warn({ event: 'proxy_peer_refused', peer: remote }, 'PROXY header from a peer outside proxy_trusted_networks; closed');
        raw.destroy();
        return;
      }
      raw.resume();
      try {
        const header = await readProxyHeader(raw, Math.min(timeout, 10_000));
        if (header.source) remote = plainAddress(header.source.address);
        head = header.rest;
      } catch (err) {
        this.log.warn({ event: 'proxy_header_rejected', peer: raw.remoteAddress, reason: (err as Error).message }, 'connection without a valid PROXY header closed');
        raw.destroy();
        return;
      }
    }
    const fromIp = this.perIp.get(remote) ?? 0;
    if (this.closing || fromIp >= this.options.maxConnectionsPerIp) {
      this.refuse(raw, spec, remote);
      return;
    }
    this.perIp.set(remote, fromIp + 1);
    const release = (): void => {
      const left = (this.perIp.get(remote) ?? 1) - 1;
      if (left <= 0) this.perIp.delete(remote);
      else this.perIp.set(remote, left);
    };

    let socket: Socket = raw;
    if (spec.implicitTls) {
      try {
        socket = await (this.certificates as CertificateStore).acceptTls(raw, head);
      } catch (err) {
        this.log.info({ event: 'tls_handshake_failed', remote, reason: (err as Error).message }, 'TLS handshake failed');
        release();
        raw.destroy();
        return;
      }
      head = Buffer.alloc(0);
    }
    if (raw.destroyed) {
      release();
      return;
    }

    const certificates = this.certificates;
    const connection = new Connection(socket as Socket | TLSSocket, {
      remoteAddress: remote,
      trusted: this.options.trustedNetworks.has(remote),
      ...(certificates && !spec.implicitTls ? { startTls: (plain: Socket) => certificates.acceptTls(plain) } : {}),
      idleTimeoutMs: this.options.idleTimeoutMs,
      onData: (chunk) => session?.receive(chunk),
      onTimeout: () => void session?.timeout(),
      onClose: () => {
        release();
        if (session) {
          this.sessions.delete(session);
          void session.disconnected();
        }
      },
    });
    session = new Session(connection, this.deps);
    this.sessions.add(session);
    session.start();
    if (head.length > 0) session.receive(head);
    socket.resume();
  }

  private refuse(raw: Socket, spec: ListenerSpec, remote: string): void {
    const why = this.closing ? 'Server shutting down' : 'Too many connections; try again later';
    this.log.warn({ event: 'connection_refused', remote, reason: why }, 'connection refused');
    // An implicit-TLS client could not read a plaintext answer: just close.
    if (spec.implicitTls) raw.destroy();
    else {
      raw.end(`-ERR [SYS/TEMP] ${why}\r\n`);
      // Read (and drop) what comes, so the client's end is seen and the socket closes.
      raw.resume();
    }
  }
}
