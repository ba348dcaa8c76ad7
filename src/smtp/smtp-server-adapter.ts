import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { SessionCounts } from '../events/sessions.js';
import { ENHANCED_PREFIX, replies } from './reply.js';

export interface AdapterOptions {
  /** 5xx replies in one session before it is closed with 421. */
  readonly maxRefusals: number;
  /** Counts each session's octets and commands (its logger must be the server's `logger` option). */
  readonly counters?: SmtpSessionCounters;
}

export type { SessionCounts };

/**
 * Octets and commands per SMTP session, for the sessions list. smtp-server has no hook per
 * command, but it tells its logger of every command line it parses ({ tnx: 'command', cid });
 * `logger` is that logger and ignores every other entry. Octets are the accepted socket's, so
 * after STARTTLS they include the TLS records' overhead.
 */
export class SmtpSessionCounters {
  private readonly sessions = new Map<string, { socket: Socket; commands: number }>();

  readonly logger = ((): Record<string, (entry: unknown) => void> => {
    const ignore = (): void => undefined;
    const debug = (entry: unknown): void => {
      const e = entry as { tnx?: unknown; cid?: unknown } | null;
      if (e?.tnx !== 'command' || typeof e.cid !== 'string') return;
      const s = this.sessions.get(e.cid);
      if (s) s.commands++;
    };
    return { trace: ignore, debug, info: ignore, warn: ignore, error: ignore, fatal: ignore };
  })();

  track(id: string, socket: Socket): void {
    this.sessions.set(id, { socket, commands: 0 });
    socket.once('close', () => this.sessions.delete(id));
  }

  get(id: string): SessionCounts | undefined {
    const s = this.sessions.get(id);
    return s ? { bytesIn: s.socket.bytesRead, bytesOut: s.socket.bytesWritten, commands: s.commands } : undefined;
  }
}

/** What postel needs of a connection: the library's public send(). */
interface Replying {
  send(code: number, data?: string | string[] | null, context?: string | false): void;
}

/**
 * An SMTPServer whose connections send our refusals' enhanced status codes as given and
 * close after too many refusals. smtp-server derives the enhanced code of an application's
 * refusal from the basic code alone, so a 554 relay refusal would go out as 5.6.0 instead of
 * 5.7.1, and it caps refused commands only for unknown verbs. It has no hook for either, so
 * this subclass wraps the public send() of each connection that the public connect() adds
 * to the public `connections` set. smtp-server-adapter.test.ts fails if the library changes
 * any of that.
 */
export class PostelSmtpServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly adapter: AdapterOptions,
  ) {
    super(options);
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    const before = new Set(this.connections);
    super.connect(socket, socketOptions);
    for (const connection of this.connections) {
      if (before.has(connection)) continue;
      speakOurCodes(connection, this.adapter.maxRefusals);
      this.adapter.counters?.track(connection.id, socket);
    }
  }
}

function speakOurCodes(connection: Replying, maxRefusals: number): void {
  const send = connection.send.bind(connection);
  let refusals = 0;
  connection.send = (code, data, context) => {
    const explicit = typeof data === 'string' && ENHANCED_PREFIX.test(data);
    send(code, data, explicit ? false : context);
    if (code >= 500 && ++refusals === maxRefusals) {
      const reply = replies.tooManyErrors();
      // 421 makes the library close the connection after writing it.
      send(reply.code, reply.message, false);
    }
  };
}
