/**
 * Strict base64 (RFC 4648 section 4, padding required), as SASL exchanges carry it (RFC 4422,
 * RFC 5034): null for anything else, where Buffer.from would skip bad characters silently.
 * An empty string is an empty message.
 */
export function decodeBase64(text: string): Buffer | null {
  if (text === '') return Buffer.alloc(0);
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}
