import type { Logger } from 'pino';
import type { AuthPolicy } from '../../auth/policy.js';
import type { SaslContext, SaslMechanism } from '../../auth/sasl/types.js';
import type { Authenticator, AuthContext } from '../../auth/types.js';
import type { WireSource } from '../../message/wire-source.js';
import type { MailStore } from '../../store/types.js';
import type { TlsSessionInfo } from '../../tls/session-info.js';
import type { Pop3Error } from '../errors.js';
import type { Command } from '../parser.js';
import type { Pop3Observer } from '../observer.js';
import type { Pop3Policy } from '../policy.js';
import type { EndReason, SessionState, SessionStats } from '../state.js';

/** What a handler may know of its connection: facts, not the socket. */
export interface Peer {
  readonly remoteAddress: string;
  /** TLS, or a network the config trusts. */
  readonly secure: boolean;
  readonly tls: TlsSessionInfo | null;
  readonly canStartTls: boolean;
}

/** Everything a command handler may use; it cannot write to the connection or set the state. */
export interface HandlerContext {
  readonly policy: Pop3Policy;
  readonly store: MailStore;
  readonly auth: Authenticator;
  /** The SASL mechanisms configured, in order (which are usable here: saslMechanisms()). */
  readonly sasl: readonly SaslMechanism[];
  /** Failure budgets, delays and the answer time of every login, shared with the other listeners. */
  readonly authPolicy: AuthPolicy;
  readonly peer: Peer;
  /** RFC 1939 APOP timestamp of the greeting, when APOP is on. */
  readonly apopTimestamp: string | null;
  /** Counters for the session_end log line. */
  readonly stats: SessionStats;
  readonly log: Logger;
  /** Told about logins and lock conflicts (metrics, events). */
  readonly observer: Pop3Observer | undefined;
  now(): Date;
}

/** A single line, a multi-line response (status line, lines, "."), or a refusal. */
export type Reply =
  | string
  | { readonly status: string; readonly lines: Iterable<string> }
  /** A multi-line answer whose lines are framed already (CRLF, dot-stuffed), terminator not included. */
  | { readonly status: string; readonly body: Uint8Array }
  | Pop3Error;

/**
 * What a handler asks the session to do, in this order: start TLS (STLS), enter `next`,
 * send `reply` and then `message`, close the connection (`end`), run `after` and do what its
 * step says.
 */
export interface Step {
  /** STLS: the session sends the +OK, runs the handshake, and enters `next` once TLS is up. */
  readonly startTls?: true;
  readonly next?: SessionState;
  readonly reply?: Reply;
  /** RETR, TOP: the message, sent after the status line in `reply` (a string). */
  readonly message?: WireSource;
  readonly end?: EndReason;
  /** Work after the transition (QUIT's commit in UPDATE) or after the message went out. */
  readonly after?: () => Promise<Step>;
}

export type Handler<S extends SessionState = SessionState, C extends Command = Command> = (command: C, state: S, ctx: HandlerContext) => Promise<Step>;

/** Plaintext passwords may be sent here: TLS, a trusted network, or the policy allows it. */
export function plaintextAllowed(ctx: HandlerContext): boolean {
  return !ctx.policy.disablePlaintextAuth || ctx.peer.secure;
}

export function authContext(ctx: HandlerContext): AuthContext {
  return { remoteAddress: ctx.peer.remoteAddress, secure: ctx.peer.secure };
}

export function saslContext(ctx: HandlerContext): SaslContext {
  const tls = ctx.peer.tls;
  return {
    remoteAddress: ctx.peer.remoteAddress,
    // What mechanisms need to know is whether a password may be sent here.
    secure: plaintextAllowed(ctx),
    ...(tls
      ? {
          tls: {
            ...(tls.exporter ? { exporter: tls.exporter } : {}),
            ...(tls.serverEndPoint ? { serverEndPoint: tls.serverEndPoint } : {}),
            ...(tls.clientCertUser ? { clientCertUser: tls.clientCertUser } : {}),
          },
        }
      : {}),
  };
}

/** The SASL mechanisms this connection may use now, in configured order. */
export function saslMechanisms(ctx: HandlerContext): SaslMechanism[] {
  const sasl = saslContext(ctx);
  return ctx.sasl.filter((m) => m.available(sasl) && (!m.exposesPassword || plaintextAllowed(ctx)));
}
