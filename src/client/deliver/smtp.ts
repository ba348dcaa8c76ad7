import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import type { NodemailerError } from 'nodemailer/lib/errors';
import SMTPConnection, { type SMTPConnectionSendInfo } from 'nodemailer/lib/smtp-connection';
import { Pop3ClientError } from '../errors.js';
import { envelopeSender, peekHeader } from './header-peek.js';
import { DeliveryError, type Delivery, type Destination, type MessageMeta, type RecoveryOutcome } from './types.js';

export interface ForwardOptions {
  readonly protocol: 'smtp' | 'lmtp';
  readonly host: string;
  readonly port: number;
  /** The envelope recipient (RCPT TO). */
  readonly recipient: string;
  readonly timeoutMs?: number;
}

/**
 * Forwards each message over SMTP (RFC 5321) or LMTP (RFC 2033), e.g. to the local MTA on
 * port 25 or to an LMTP intake, with nodemailer's SMTPConnection: one transaction per
 * connection, one recipient, the message dot-stuffed as it streams. The envelope sender is
 * the message's Return-Path (or the null sender). Replies the server calls permanent (5xx)
 * are permanent failures; 4xx replies and connection problems are temporary.
 */
export class ForwardDestination implements Destination {
  readonly description: string;
  private readonly where: string;

  constructor(private readonly options: ForwardOptions) {
    if (/[\s<>]/.test(options.recipient) || options.recipient === '') throw new DeliveryError(`invalid recipient address ${JSON.stringify(options.recipient)}`, false);
    this.description = `${options.protocol}:${options.host}:${options.port}`;
    this.where = `${options.protocol.toUpperCase()} ${options.host}:${options.port}`;
  }

  async begin(_meta: MessageMeta): Promise<Delivery> {
    return { token: null, write: (message) => this.forward(message), abort: async () => undefined };
  }

  /** The MTA keeps no record we could ask: after a crash we cannot know. */
  async recover(): Promise<RecoveryOutcome> {
    return 'unknown';
  }

  private async forward(source: Readable): Promise<void> {
    const { head, message } = await peekHeader(source);
    const timeout = this.options.timeoutMs ?? 120_000;
    const connection = new SMTPConnection({
      host: this.options.host,
      port: this.options.port,
      lmtp: this.options.protocol === 'lmtp',
      name: hostname(),
      // A local MTA or intake: plain as configured, never an opportunistic STARTTLS whose
      // certificate could not be checked anyway.
      ignoreTLS: true,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
    });
    // Errors can come at any step (a reset connection, a timeout); each step races them.
    const failed = new Promise<never>((_, reject) => connection.on('error', reject));
    failed.catch(() => undefined);
    try {
      await Promise.race([new Promise<void>((resolve) => connection.connect(() => resolve())), failed]);
      const sender = envelopeSender(head) ?? '';
      const sending = new Promise<SMTPConnectionSendInfo>((resolve, reject) => {
        connection.send({ from: sender === '' ? false : sender, to: [this.options.recipient], use8BitMime: true }, message, (err, sent) =>
          err || !sent ? reject(err ?? new Error('no result')) : resolve(sent),
        );
      });
      const info = await Promise.race([sending, failed]);
      // LMTP answers per recipient after DATA (RFC 2033 section 4.2); the refusal of ours is here.
      const refused = info.rejectedErrors?.[0];
      if (info.rejected.length > 0) throw refused ?? new DeliveryError(`${this.where} refused the message`, true);
      connection.quit();
    } catch (err) {
      connection.close();
      message.destroy();
      if (err instanceof DeliveryError || err instanceof Pop3ClientError) throw err;
      throw this.deliveryError(err as NodemailerError);
    }
  }

  private deliveryError(err: NodemailerError): DeliveryError {
    if (err.responseCode !== undefined) {
      const what = err.command ? ` ${err.command.split(/[ :]/)[0]}` : '';
      return new DeliveryError(`${this.where} refused${what}: ${err.response ?? err.responseCode}`, err.permanent !== true, { cause: err });
    }
    return new DeliveryError(`${this.where}: ${err.message}`, true, { cause: err });
  }
}
