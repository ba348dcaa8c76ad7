import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import { ENHANCED_PREFIX, replies } from './reply.js';

/**
 * smtp-server derives the enhanced status code of an application's refusal from the basic
 * code alone, so a 554 relay refusal would go out as 5.6.0 instead of 5.7.1. Our refusals
 * carry their own code (SmtpReplyError); this connection sends it as is. It also enforces
 * the cap on refused commands, which the library only has for unknown verbs.
 */
class PostelConnection extends SMTPConnection {
  private refusals = 0;

  constructor(
    server: SMTPServer,
    socket: Socket | TLSSocket,
    options: SMTPConnectionOptions | null | undefined,
    private readonly maxRefusals: number,
  ) {
    super(server, socket, options);
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    const explicit = typeof data === 'string' && ENHANCED_PREFIX.test(data);
    super.send(code, data, explicit ? false : context);
    if (code >= 500 && ++this.refusals === this.maxRefusals) {
      const reply = replies.tooManyErrors();
      // 421 makes the library close the connection after writing it.
      super.send(reply.code, reply.message, false);
    }
  }
}

export interface AdapterOptions {
  /** 5xx replies in one session before it is closed with 421. */
  readonly maxRefusals: number;
}

/** An SMTPServer whose connections are PostelConnections. */
export class PostelSmtpServer extends SMTPServer {
  constructor(
    options: SMTPServerOptions,
    private readonly adapter: AdapterOptions,
  ) {
    super(options);
  }

  // Mirrors SMTPServer.connect, which offers no way to choose the connection class.
  override connect(socket: Socket | TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new PostelConnection(this, socket, socketOptions, this.adapter.maxRefusals);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (data: Parameters<SMTPServer['_onClientConnect']>[0]) => this._onClientConnect(data));
    connection.init();
  }
}
