import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerError } from 'smtp-server';
import { waitFor } from './wait-for.js';

export interface SunkMessage {
  readonly from: string;
  readonly to: readonly string[];
  readonly data: Buffer;
}

export interface SmtpSink {
  readonly port: number;
  readonly messages: SunkMessage[];
  /** Recipient -> reply for RCPT; a function is asked on every attempt. */
  rcptReplies: Map<string, (attempt: number) => { code: number; text: string } | undefined>;
  /** Resolves once `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A tiny smarthost for tests: accepts mail, records it, refuses recipients as told. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: SunkMessage[] = [];
  const rcptReplies = new Map<string, (attempt: number) => { code: number; text: string } | undefined>();
  const attempts = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    hideENHANCEDSTATUSCODES: false,
    logger: false,
    onRcptTo(address, _session, cb) {
      const n = (attempts.get(address.address) ?? 0) + 1;
      attempts.set(address.address, n);
      const reply = rcptReplies.get(address.address)?.(n);
      if (!reply) return cb();
      const err: SMTPServerError = new Error(reply.text);
      err.responseCode = reply.code;
      cb(err);
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks),
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    rcptReplies,
    async waitFor(n, timeoutMs = 10000) {
      await waitFor(() => messages.length >= n, `the sink to get ${n} messages (it has ${messages.length})`, timeoutMs);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
