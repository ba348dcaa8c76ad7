/*
 * The compact serialization of a JWS (RFC 7515 section 7.1): three base64url parts
 * separated by dots. Only parsing; signatures are checked in algorithms.ts.
 */

export interface CompactJws {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The bytes the signature covers: `base64url(header) "." base64url(payload)`. */
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

/** The parsed token, or a reason for logs. */
export function parseCompactJws(token: string): CompactJws | string {
  const parts = token.split('.');
  if (parts.length !== 3) return parts.length === 5 ? 'encrypted tokens (JWE) are not supported' : 'not a compact JWS';
  const [headerText = '', payloadText = '', signatureText = ''] = parts;
  const header = jsonObject(base64url(headerText));
  const payload = jsonObject(base64url(payloadText));
  const signature = base64url(signatureText);
  if (header === undefined) return 'bad JWS header';
  if (payload === undefined) return 'payload is not a JSON object';
  if (signature === undefined || signature.length === 0) return 'bad or missing signature';
  return { header, payload, signingInput: Buffer.from(`${headerText}.${payloadText}`, 'latin1'), signature };
}

/** Unpadded base64url in its canonical spelling, else undefined. */
export function base64url(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}

function jsonObject(bytes: Buffer | undefined): Record<string, unknown> | undefined {
  if (bytes === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
