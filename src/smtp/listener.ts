import { lstat, unlink } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { plainAddress, type NetworkSet } from '../net/trusted-networks.js';
import { readProxyHeader } from '../net/proxy-protocol.js';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { SMTPServerOptions } from 'smtp-server';
import { Intake, type IntakeDeps, type IntakeKind, type IntakePolicy } from './intake.js';
import { replies } from './reply.js';
import { PostelSmtpServer, SmtpSessionCounters, type SessionCounts } from './smtp-server-adapter.js';
import { isErrno } from '../fs/errno.js';

/**
 * Certificates for STARTTLS and implicit TLS; the server's CertificateStore fits as is.
 * Asked at every connection, so a reload (SIGHUP) reaches new sessions.
 */
export interface SmtpTls {
  /** The context for an SNI name, or the default one for '' (a client that sent none). */
  contextFor(servername: string): SecureContext;
}

export interface SmtpListenerSpec {
  readonly kind: IntakeKind;
  readonly host: string;
  readonly port: number;
  /** A unix socket path instead of host:port (LMTP from a local MTA). */
  readonly socketPath?: string;
  /** RFC 8314 implicit TLS (submissions, port 465). */
  readonly implicitTls: boolean;
  /**
   * Expect a PROXY protocol (v1 or v2) header, believed only from these peers
   * ([auth] proxy_trusted_networks); connections from anywhere else are closed. Absent: none.
   */
  readonly proxyFrom?: NetworkSet;
}

export interface SmtpLimits {
  readonly maxMessageSize: number;
  readonly maxRecipients: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly idleTimeoutMs: number;
  readonly maxBadCommands: number;
}

export interface SubmissionAuthPolicy {
  /** Whether a client at this address may AUTH without TLS (a trusted network). */
  readonly plaintextAuthFrom: (remoteAddress: string) => boolean;
  readonly maxAuthFailures: number;
  /** RFC 6409 6.1: whether MAIL FROM must be the user's own address (or an alias resolving to the user). */
  readonly senderLoginCheck: 'strict' | 'off';
  /** How long a submission connection may stay without logging in, from accept (TLS handshake included). */
  readonly loginTimeoutMs: number;
}

export interface BoundSmtpListener {
  readonly kind: IntakeKind;
  readonly implicitTls: boolean;
  /** host:port ([v6]:port) or the socket path, for the banner. */
  readonly where: string;
  readonly port: number | undefined;
}

/** How long close() lets sessions finish (a DATA being stored) before cutting them off. */
const CLOSE_GRACE_MS = 5000;
/** How long a trusted proxy may take to send its header (it sends it at once). */
const PROXY_HEADER_TIMEOUT_MS = 10_000;

/** One SMTP, LMTP or submission listener: smtp-server for the protocol, Intake for the mail. */
export class SmtpListener {
  private readonly server: PostelSmtpServer;
  private readonly intake: Intake;
  private readonly log: Logger;
  private readonly counters = new SmtpSessionCounters();
  /**
   * The socket that accepts connections: smtp-server's own, or with a PROXY listener one of
   * ours that reads the header before handing the connection to smtp-server's public
   * connect(). The library's useProxy reads v1 only and trusts exact addresses, not networks.
   */
  private readonly front: Server;
  private readonly tls: SmtpTls | undefined;
  private readonly deadlines: LoginDeadlines | undefined;

  constructor(
    readonly spec: SmtpListenerSpec,
    limits: SmtpLimits,
    auth: SubmissionAuthPolicy,
    hostname: string,
    deps: IntakeDeps,
    tls?: SmtpTls,
  ) {
    if (spec.implicitTls && !tls) throw new Error(`${spec.kind}: implicit TLS needs certificates`);
    const submission = spec.kind === 'submission';
    // AUTH only on submission (the policy: port 25 and LMTP take mail, not logins).
    const disabledCommands = [...(submission ? [] : ['AUTH']), ...(tls ? [] : ['STARTTLS'])];
    const policy: IntakePolicy = {
      kind: spec.kind,
      hostname,
      maxConnectionsPerIp: limits.maxConnectionsPerIp,
      maxAuthFailures: auth.maxAuthFailures,
      senderLoginCheck: auth.senderLoginCheck,
      plaintextAuthFrom: auth.plaintextAuthFrom,
      disabledCommands,
    };
    this.log = deps.logger.child({ listener: spec.kind });
    const deadlines = submission ? new LoginDeadlines(auth.loginTimeoutMs, this.log) : undefined;
    this.deadlines = deadlines;
    this.intake = new Intake(policy, deps, deadlines ? { loggedIn: (session) => deadlines.loggedIn(session.remoteAddress, session.remotePort) } : {});
    const options: SMTPServerOptions = {
      name: hostname,
      banner: 'postel',
      lmtp: spec.kind === 'lmtp',
      secure: spec.implicitTls,
      size: limits.maxMessageSize,
      // The library answers 552 5.3.4 to a message over the limit, whatever onData says.
      rejectOversized: true,
      maxRecipients: limits.maxRecipients,
      maxClients: limits.maxConnections,
      socketTimeout: limits.idleTimeoutMs,
      closeTimeout: CLOSE_GRACE_MS,
      hideENHANCEDSTATUSCODES: false,
      hideDSN: true,
      hideREQUIRETLS: true,
      disabledCommands,
      authMethods: deps.xoauth2 ? ['PLAIN', 'LOGIN', 'XOAUTH2'] : ['PLAIN', 'LOGIN'],
      authOptional: !submission,
      // Intake decides where plaintext AUTH is allowed (trusted networks) and withholds it elsewhere.
      allowInsecureAuth: true,
      disableReverseLookup: true,
      // Only the command counter listens (postel logs through the intake).
      logger: this.counters.logger,
      // Our SNICallback also keeps the library from warning about its built-in certificate.
      ...(tls ? { SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) => cb(null, tls.contextFor(name)) } : {}),
      ...this.intake.handlers(),
    };
    this.server = new PostelSmtpServer(options, { maxRefusals: limits.maxBadCommands, counters: this.counters });
    this.server.on('error', (err: Error) => this.log.warn({ err }, 'connection or listener error'));
    this.tls = tls;
    const proxyFrom = spec.proxyFrom;
    this.front = proxyFrom ? createServer((socket) => void this.acceptProxied(socket, proxyFrom)) : this.server.server;
    // Counted from accept, before any TLS handshake (smtp-server counts sessions after it).
    this.front.maxConnections = limits.maxConnections;
    if (deadlines) this.front.prependListener('connection', (socket: Socket) => deadlines.accepted(socket));
    if (tls) {
      // smtp-server gives clients without SNI its '*' context, built once from key/cert
      // options; keeping it current per connection makes certificate reloads apply.
      // (`secureContext` and `server` are public properties of SMTPServer's typings.)
      this.front.prependListener('connection', () => this.server.secureContext.set('*', tls.contextFor('')));
    }
  }

  /**
   * A connection to a PROXY listener: from a trusted peer, the header names the client, and
   * the session (limits per address, trusted networks, Received, logs) sees that address;
   * from anyone else, or without a valid header, the connection is closed unanswered, as
   * POP3 does: an untrusted peer could claim any address.
   */
  private async acceptProxied(raw: Socket, proxyFrom: NetworkSet): Promise<void> {
    raw.on('error', (err) => this.log.debug({ err, peer: raw.remoteAddress }, 'socket error before the session'));
    const peer = plainAddress(raw.remoteAddress ?? '');
    if (!proxyFrom.has(peer)) {
      this.log.warn({ event: 'proxy_peer_refused', peer }, 'PROXY listener: peer outside proxy_trusted_networks; closed');
      raw.destroy();
      return;
    }
    let header: Awaited<ReturnType<typeof readProxyHeader>>;
    try {
      header = await readProxyHeader(raw, PROXY_HEADER_TIMEOUT_MS);
    } catch (err) {
      this.log.warn({ event: 'proxy_header_rejected', peer, reason: (err as Error).message }, 'connection without a valid PROXY header closed');
      raw.destroy();
      return;
    }
    // Bytes after the header (a TLS ClientHello, an early command) go back to be read again.
    if (header.rest.length > 0) raw.unshift(header.rest);
    // LOCAL (a health check) names no client: the proxy's own address stands.
    const client = header.source ? { remoteAddress: header.source.address, remotePort: header.source.port } : {};
    const where = { localAddress: raw.localAddress ?? '', localPort: raw.localPort ?? 0, ...client };
    if (header.source) this.deadlines?.proxied(raw, header.source.address, header.source.port);
    if (!this.spec.implicitTls) {
      this.server.connect(raw, where);
      raw.resume();
      return;
    }
    const tls = this.tls as SmtpTls;
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: tls.contextFor(''),
      SNICallback: (name, cb) => cb(null, tls.contextFor(name)),
    });
    const timer = setTimeout(() => secure.destroy(), PROXY_HEADER_TIMEOUT_MS * 3);
    secure.once('error', (err) => {
      clearTimeout(timer);
      this.log.info({ event: 'tls_handshake_failed', remote: where.remoteAddress ?? peer, reason: err.message }, 'TLS handshake failed');
      secure.destroy();
    });
    secure.once('secure', () => {
      clearTimeout(timer);
      this.server.connect(secure, where);
    });
  }

  get connections(): number {
    return this.intake.connections;
  }

  async listen(): Promise<BoundSmtpListener> {
    const path = this.spec.socketPath;
    if (path) await removeStaleSocket(path);
    await new Promise<void>((resolve, reject) => {
      // Labelled, so that "port in use" names the listener that could not start.
      const onError = (err: Error): void => reject(Object.assign(err, { listener: this.spec.implicitTls ? `${this.spec.kind}s` : this.spec.kind }));
      this.front.once('error', onError);
      const done = (): void => {
        this.front.off('error', onError);
        resolve();
      };
      if (path) this.front.listen(path, done);
      else this.front.listen(this.spec.port, this.spec.host, done);
    });
    const address = this.front.address();
    if (typeof address === 'string' || address === null) {
      return { kind: this.spec.kind, implicitTls: this.spec.implicitTls, where: address ?? path ?? '', port: undefined };
    }
    const a = address as AddressInfo;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return { kind: this.spec.kind, implicitTls: this.spec.implicitTls, where: `${host}:${a.port}`, port: a.port };
  }

  /** Octets and commands of one session so far; undefined when it is not here. */
  sessionCounts(id: string): SessionCounts | undefined {
    return this.counters.get(id);
  }

  /** Ends one session with 421 (the library closes after writing it); false when it is not here. */
  endSession(id: string, text: string): boolean {
    for (const connection of this.server.connections) {
      if (connection.id !== id) continue;
      connection.send(421, `4.3.2 ${text}`);
      return true;
    }
    return false;
  }

  /**
   * Stops accepting and says goodbye (421) to every session at once, except those storing a
   * message: they get CLOSE_GRACE_MS to finish, then are cut off.
   */
  close(): Promise<void> {
    // A PROXY listener's own socket stops accepting; smtp-server then ends the sessions.
    if (this.front !== this.server.server) this.front.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const bye = replies.shuttingDown();
    for (const connection of this.server.connections) {
      if (this.intake.isStoring(connection.id)) continue;
      connection.send(bye.code, bye.message);
    }
    return closed;
  }
}

/**
 * login_timeout on submission: a connection that has not authenticated this long after
 * accept is closed, so that silent connections cannot hold the listener's slots. Sockets
 * are found again by the client's address and port, which the session reports too.
 */
class LoginDeadlines {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** Each waiting socket's key, which a PROXY header changes to the client's address. */
  private readonly keys = new WeakMap<Socket, string>();

  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  accepted(socket: Socket): void {
    const timer = setTimeout(() => {
      this.forget(socket);
      this.log.info({ event: 'login_timeout', remote: plainAddress(socket.remoteAddress ?? ''), port: socket.remotePort }, 'closed: no login within login_timeout');
      socket.destroy();
    }, this.timeoutMs);
    this.track(socket, LoginDeadlines.key(socket.remoteAddress ?? '', socket.remotePort ?? 0), timer);
    socket.once('close', () => {
      clearTimeout(timer);
      this.forget(socket);
    });
  }

  /** The session will report the client a PROXY header named: find the socket under that. */
  proxied(socket: Socket, remoteAddress: string, remotePort: number): void {
    const key = this.keys.get(socket);
    const timer = key === undefined ? undefined : this.timers.get(key);
    if (timer === undefined) return;
    this.forget(socket);
    this.track(socket, LoginDeadlines.key(remoteAddress, remotePort), timer);
  }

  loggedIn(remoteAddress: string, remotePort: number): void {
    const key = LoginDeadlines.key(remoteAddress, remotePort);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  private track(socket: Socket, key: string, timer: NodeJS.Timeout): void {
    this.keys.set(socket, key);
    this.timers.set(key, timer);
  }

  private forget(socket: Socket): void {
    const key = this.keys.get(socket);
    if (key !== undefined) this.timers.delete(key);
    this.keys.delete(socket);
  }

  private static key(address: string, port: number): string {
    return `${plainAddress(address)}|${port}`;
  }
}

/** A socket file left by a previous run would make listen() fail with EADDRINUSE. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSocket()) await unlink(path);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}
