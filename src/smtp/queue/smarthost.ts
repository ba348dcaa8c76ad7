import { createTransport } from 'nodemailer';

export interface SmarthostSettings {
  readonly host: string;
  readonly port: number;
  /** starttls: required; tls: implicit (port 465); none: plaintext, for a relay on this host. */
  readonly security: 'starttls' | 'tls' | 'none';
  readonly user: string;
  readonly password: string;
  readonly tlsVerify: boolean;
  /** Our name in EHLO. */
  readonly heloName: string;
}

/** How one recipient fared at the smarthost. */
export type RelayResult =
  | { readonly address: string; readonly ok: true }
  | { readonly address: string; readonly ok: false; readonly permanent: boolean; readonly status: string; readonly diagnostic: string };

/** Sends queued messages on; the queue decides about retries and bounces. */
export interface Relay {
  send(from: string, to: readonly string[], messagePath: string): Promise<RelayResult[]>;
  close(): void;
}

/** Shape of nodemailer's errors that matters here (see NodemailerError). */
interface SendError {
  readonly message: string;
  readonly response?: string;
  readonly responseCode?: number;
  readonly permanent?: boolean;
  readonly recipient?: string;
  readonly rejectedErrors?: readonly SendError[];
}

/** The smarthost through nodemailer's SMTP transport: it frames SMTP, we only route. */
export function smarthostRelay(settings: SmarthostSettings): Relay {
  const transport = createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    name: settings.heloName,
    ...(settings.user !== '' ? { auth: { user: settings.user, pass: settings.password } } : {}),
    tls: { rejectUnauthorized: settings.tlsVerify },
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 120_000,
  });
  return {
    async send(from, to, messagePath) {
      try {
        const info = await transport.sendMail({ envelope: { from, to: [...to] }, raw: { path: messagePath } });
        const rejected = new Map<string, SendError>();
        for (const e of (info as { rejectedErrors?: SendError[] }).rejectedErrors ?? []) if (e.recipient) rejected.set(e.recipient, e);
        return to.map((address) => {
          const e = rejected.get(address);
          if (e) return failure(address, e);
          return info.rejected.includes(address) ? failure(address, { message: 'rejected' }) : { address, ok: true as const };
        });
      } catch (caught) {
        const err = caught as SendError;
        const byRecipient = new Map<string, SendError>();
        for (const e of err.rejectedErrors ?? []) if (e.recipient) byRecipient.set(e.recipient, e);
        return to.map((address) => failure(address, byRecipient.get(address) ?? err));
      }
    },
    close: () => transport.close(),
  };
}

function failure(address: string, e: SendError): RelayResult {
  const code = e.responseCode;
  // No SMTP reply at all (connection refused, timeout, TLS failure): try again later.
  const permanent = code !== undefined && (e.permanent ?? (code >= 500 && code !== 503));
  const enhanced = /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(e.response ?? '')?.[1];
  const status = enhanced ?? (permanent ? '5.0.0' : '4.0.0');
  const diagnostic = e.response ?? e.message;
  return { address, ok: false, permanent, status, diagnostic };
}
