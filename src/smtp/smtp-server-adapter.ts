import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { ENHANCED_PREFIX, replies } from './reply.js';

export interface AdapterOptions {
  /** 5xx replies in one session before it is closed with 421. */
  readonly maxRefusals: number;
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
      if (!before.has(connection)) speakOurCodes(connection, this.adapter.maxRefusals);
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
