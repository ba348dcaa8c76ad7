import { lstat, unlink } from 'node:fs/promises';
import type { AddressInfo, Socket } from 'node:net';
import { plainAddress } from '../net/trusted-networks.js';
import type { SecureContext } from 'node:tls';
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

/** One SMTP, LMTP or submission listener: smtp-server for the protocol, Intake for the mail. */
export class SmtpListener {
  private readonly server: PostelSmtpServer;
  private readonly intake: Intake;
  private readonly log: Logger;
  private readonly counters = new SmtpSessionCounters();

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
    // Counted from accept, before any TLS handshake (smtp-server counts sessions after it).
    this.server.server.maxConnections = limits.maxConnections;
    if (deadlines) this.server.server.prependListener('connection', (socket: Socket) => deadlines.accepted(socket));
    if (tls) {
      // smtp-server gives clients without SNI its '*' context, built once from key/cert
      // options; keeping it current per connection makes certificate reloads apply.
      // (`secureContext` and `server` are public properties of SMTPServer's typings.)
      this.server.server.prependListener('connection', () => this.server.secureContext.set('*', tls.contextFor('')));
    }
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
      this.server.server.once('error', onError);
      const done = (): void => {
        this.server.server.off('error', onError);
        resolve();
      };
      if (path) this.server.listen(path, done);
      else this.server.listen(this.spec.port, this.spec.host, done);
    });
    const address = this.server.server.address();
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

  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  accepted(socket: Socket): void {
    const key = LoginDeadlines.key(socket.remoteAddress ?? '', socket.remotePort ?? 0);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.log.info({ event: 'login_timeout', remote: plainAddress(socket.remoteAddress ?? ''), port: socket.remotePort }, 'closed: no login within login_timeout');
      socket.destroy();
    }, this.timeoutMs);
    this.timers.set(key, timer);
    socket.once('close', () => {
      clearTimeout(timer);
      if (this.timers.get(key) === timer) this.timers.delete(key);
    });
  }

  loggedIn(remoteAddress: string, remotePort: number): void {
    const key = LoginDeadlines.key(remoteAddress, remotePort);
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
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
