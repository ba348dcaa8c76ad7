import { addressLiteral } from './address.js';

/** What the Received header says about how a message came in. */
export interface TraceInfo {
  /** The HELO/EHLO/LHLO argument, if the client sent one. */
  readonly helo: string | undefined;
  readonly remoteAddress: string;
  /** Our name, for the "by" clause. */
  readonly hostname: string;
  /** The registered "with" keyword (RFC 3848, RFC 6531): ESMTPSA, LMTP, UTF8SMTPS... */
  readonly protocol: string;
  /** Our id for the transaction, so a log line can be found from the header. */
  readonly id: string;
  readonly tls?: { readonly protocol: string; readonly cipher: string };
  /** The user who authenticated (submission): named so that abuse can be traced to an account. */
  readonly authenticatedAs?: string;
  /** The envelope recipient of this copy; left out for a copy shared by several. */
  readonly recipient?: string;
  readonly date: Date;
}

/** RFC 3848 / RFC 6531 "with" protocol keyword. */
export function transmissionProtocol(opening: 'HELO' | 'EHLO' | 'LHLO', o: { utf8: boolean; tls: boolean; auth: boolean }): string {
  if (opening === 'HELO') return 'SMTP';
  const base = opening === 'LHLO' ? 'LMTP' : o.utf8 ? 'SMTP' : 'ESMTP';
  return `${o.utf8 ? 'UTF8' : ''}${base}${o.tls ? 'S' : ''}${o.auth ? 'A' : ''}`;
}

/**
 * A Received header field in the RFC 5321 section 4.4 form, folded, CRLF-terminated:
 *
 *   Received: from client.example ([192.0.2.1])
 *           by mx.example (postel) with ESMTPS id 5f2c9a.1
 *           (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
 *           (authenticated as alice)
 *           for <alice@example.org>; Tue, 01 Jul 2025 10:00:00 +0000
 */
export function receivedHeader(t: TraceInfo): string {
  const literal = addressLiteral(t.remoteAddress);
  const helo = t.helo !== undefined ? headerSafe(t.helo) : '';
  const from = helo !== '' ? `${helo} (${literal})` : literal;
  const lines = [`Received: from ${from}`, `\tby ${headerSafe(t.hostname)} (postel) with ${t.protocol} id ${t.id}`];
  if (t.tls) lines.push(`\t(using ${headerSafe(t.tls.protocol)} with cipher ${headerSafe(t.tls.cipher)})`);
  if (t.authenticatedAs !== undefined) lines.push(`\t(authenticated as ${headerSafe(t.authenticatedAs)})`);
  const stamp = `; ${rfc5322Date(t.date)}`;
  if (t.recipient !== undefined) lines.push(`\tfor <${headerSafe(t.recipient)}>${stamp}`);
  else lines[lines.length - 1] += stamp;
  return `${lines.join('\r\n')}\r\n`;
}

/** RFC 5321 4.4: the envelope sender, added at final delivery; `<>` for a bounce. */
export function returnPathHeader(sender: string): string {
  return `Return-Path: <${headerSafe(sender)}>\r\n`;
}

/** What Postfix's local delivery adds: the recipient this copy was delivered for (loop detection, filtering). */
export function deliveredToHeader(recipient: string): string {
  return `Delivered-To: ${headerSafe(recipient)}\r\n`;
}

/**
 * Client-supplied names end up in a header: no line breaks or controls (which would start a
 * new header field), and no parentheses or angle brackets (which would end a comment or path).
 */
function headerSafe(text: string): string {
  return text.replace(/[\x00-\x20\x7f()<>]/g, '');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date-time in UTC: "Tue, 01 Jul 2025 10:00:00 +0000". */
export function rfc5322Date(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}
