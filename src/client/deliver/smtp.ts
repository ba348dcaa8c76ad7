import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { Pop3ClientError } from '../errors.js';
import { envelopeSender, peekHeader } from './header-peek.js';
import { SmtpSession, type SmtpTarget } from './smtp-session.js';
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
 * Forwards each message over SMTP or LMTP, e.g. to the local MTA on port 25 or to an
 * LMTP intake. The envelope sender is the message's Return-Path (or the null sender).
 */
export class ForwardDestination implements Destination {
  readonly description: string;
  private readonly target: SmtpTarget;

  constructor(private readonly options: ForwardOptions) {
    if (/[\s<>]/.test(options.recipient) || options.recipient === '') throw new DeliveryError(`invalid recipient address ${JSON.stringify(options.recipient)}`, false);
    this.description = `${options.protocol}:${options.host}:${options.port}`;
    this.target = { protocol: options.protocol, host: options.host, port: options.port, heloName: hostname(), timeoutMs: options.timeoutMs ?? 120_000 };
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
    let session: SmtpSession | undefined;
    try {
      session = await SmtpSession.open(this.target);
      await session.send(envelopeSender(head) ?? '', this.options.recipient, message);
      await session.quit();
    } catch (err) {
      session?.destroy();
      message.destroy();
      if (err instanceof DeliveryError || err instanceof Pop3ClientError) throw err;
      throw new DeliveryError(`${this.description}: ${(err as Error).message}`, true, { cause: err });
    }
  }
}
