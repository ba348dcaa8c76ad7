import type { SmtpReplyError } from './reply.js';

export type SmtpStage = 'mail' | 'rcpt' | 'data';

/** Replies injected on purpose at a stage of an SMTP transaction (the HTTP API's chaos switch). */
export interface SmtpFaults {
  reply(stage: SmtpStage, listener: string): SmtpReplyError | null;
}
