import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { rfc5322Date } from '../trace-headers.js';

export interface FailedRecipient {
  readonly address: string;
  /** RFC 3463 status, e.g. 5.2.2. */
  readonly status: string;
  /** The reply or reason, for the person reading the bounce. */
  readonly diagnostic: string;
}

export interface BounceInput {
  readonly hostname: string;
  /** The original sender, who receives the bounce. */
  readonly to: string;
  readonly failed: readonly FailedRecipient[];
  readonly arrivedAt: Date;
  readonly now: Date;
  /** The original message's header block (the body is not returned, as with RET=HDRS). */
  readonly originalHeaders: string;
}

/**
 * An RFC 3464 delivery status notification (multipart/report). UTF-8 addresses make it a
 * message/global-delivery-status report (RFC 6533).
 */
export function bounceMessage(b: BounceInput): string {
  const boundary = `=_postel_${randomBytes(9).toString('hex')}`;
  const utf8 = [b.to, ...b.failed.map((f) => f.address)].some((a) => /[^\x00-\x7f]/.test(a));
  const addrType = utf8 ? 'utf-8' : 'rfc822';
  const clean = (s: string): string => s.replace(/[\r\n]+/g, ' ');
  const lines = [
    `From: Mail Delivery System <MAILER-DAEMON@${b.hostname}>`,
    `To: <${clean(b.to)}>`,
    'Subject: Undelivered Mail Returned to Sender',
    `Date: ${rfc5322Date(b.now)}`,
    `Message-ID: <${Date.now().toString(36)}.${randomBytes(6).toString('hex')}@${b.hostname}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    `This is the mail system at ${b.hostname}.`,
    '',
    'Your message could not be delivered to the following recipients:',
    '',
    ...b.failed.map((f) => `  <${clean(f.address)}>: ${clean(f.diagnostic)}`),
    '',
    'The headers of your message follow the delivery report.',
    '',
    `--${boundary}`,
    `Content-Type: message/${utf8 ? 'global-' : ''}delivery-status`,
    '',
    `Reporting-MTA: dns; ${b.hostname}`,
    `Arrival-Date: ${rfc5322Date(b.arrivedAt)}`,
    ...b.failed.flatMap((f) => [
      '',
      `Final-Recipient: ${addrType}; ${clean(f.address)}`,
      'Action: failed',
      `Status: ${f.status}`,
      `Diagnostic-Code: smtp; ${clean(f.diagnostic)}`,
    ]),
    '',
    `--${boundary}`,
    `Content-Type: ${utf8 ? 'message/global-headers' : 'text/rfc822-headers'}`,
    '',
    b.originalHeaders.replace(/\r?\n$/, ''),
    '',
    `--${boundary}--`,
    '',
  ];
  return lines.join('\r\n');
}

/** The largest header block a bounce quotes. */
const HEADER_MAX = 64 * 1024;

/** The header block of a stored message (up to the first empty line), at most HEADER_MAX octets. */
export async function readHeaderBlock(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEADER_MAX);
    const { bytesRead } = await handle.read(buf, 0, HEADER_MAX, 0);
    return headerBlockOf(buf.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** readHeaderBlock of a message in memory. */
export function headerBlockOf(message: Buffer): string {
  const text = message.subarray(0, HEADER_MAX).toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  return end < 0 ? text : text.slice(0, end);
}
