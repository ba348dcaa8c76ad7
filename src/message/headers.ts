import type { Readable } from 'node:stream';

/**
 * Reads a message's header block (up to the first empty line), at most `limit` bytes, then
 * stops reading: listing subjects must not pull whole messages into memory.
 */
export async function readHeaderBlock(stream: Readable, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      chunks.push(buf);
      length += buf.length;
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.search(/\r?\n\r?\n/);
      if (end >= 0) return text.slice(0, end);
      if (length >= limit) return text.slice(0, limit);
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).toString('latin1');
}

/** The unfolded value of the first header field `name` (case-insensitive), or undefined. */
export function headerValue(block: string, name: string): string | undefined {
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  const wanted = name.toLowerCase();
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** RFC 2047 encoded words (B and Q) to text; header bytes were read as latin1. */
export function decodeEncodedWords(value: string): string {
  const raw = Buffer.from(value, 'latin1').toString('utf8');
  return raw
    .replace(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)\s+(?==\?)/g, '$1')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (word, charset: string, encoding: string, text: string) => {
      try {
        const bytes =
          encoding.toUpperCase() === 'B'
            ? Buffer.from(text, 'base64')
            : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
        return new TextDecoder(charset.split('*')[0]).decode(bytes);
      } catch {
        return word;
      }
    });
}
