import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A message to seed a maildrop with, and why it is interesting on the POP3 wire. */
export interface SeedMessage {
  readonly name: string;
  readonly bytes: Buffer;
}

/** Lines of 76 characters (plus LF); every `dotEvery`-th starts with '.', so it is stuffed on the wire. */
export function bodyLinesOfSize(octets: number, dotEvery = 10): Buffer {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';
  const lines: string[] = [];
  let total = 0;
  for (let i = 0; total < octets; i++) {
    const start = i % dotEvery === 0 ? '.' : '';
    const text = `${start}${String(i).padStart(8, '0')} ${alphabet.slice(i % 13)}${alphabet}`.slice(0, 76);
    lines.push(`${text}\n`);
    total += text.length + 1;
  }
  return Buffer.from(lines.join(''), 'latin1');
}

/**
 * Messages whose wire form has traps: LF and CRLF line ends, lines that start with '.'
 * (also the very first line), a lone '.' line that must not end the response early, an
 * unterminated last line, 8-bit bytes, and 1 MB that cannot go out in one write.
 */
export function seedMessages(): SeedMessage[] {
  const high = Buffer.alloc(128);
  for (let i = 0; i < 128; i++) high[i] = 0x80 + i;
  return [
    { name: 'LF line ends', bytes: Buffer.from('From: a@example.org\nTo: alice@example.org\nSubject: lf\n\nline one\nline two\n') },
    { name: 'CRLF line ends', bytes: Buffer.from('From: b@example.org\r\nSubject: crlf\r\n\r\nline one\r\n\r\nline three\r\n') },
    { name: 'lines starting with dots', bytes: Buffer.from('.first line is a dot line\nSubject: dots\n\n.one dot\n..two dots\n...three\n. space\nend\n') },
    { name: "a lone '.' line", bytes: Buffer.from('Subject: lone dot\n\nbefore\n.\nafter\n.\n') },
    { name: 'an unterminated last line', bytes: Buffer.from('Subject: unterminated\n\nno newline at the end') },
    {
      name: '8-bit bytes',
      bytes: Buffer.concat([
        Buffer.from('Subject: 8bit\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n\n'),
        high,
        Buffer.from('\ncaf'),
        Buffer.from([0xe9, 0x0a]),
        Buffer.from('\u00e9l\u00e8ve \u2013 utf-8\n', 'utf8'),
      ]),
    },
    { name: 'a 1 MB message', bytes: Buffer.concat([Buffer.from('Subject: one megabyte\n\n'), bodyLinesOfSize(1024 * 1024)]) },
  ];
}

/** Writes the messages to DIR/seed-N.eml and returns the paths, in order. */
export async function writeSeedFiles(dir: string, messages: readonly SeedMessage[]): Promise<string[]> {
  const paths = messages.map((_m, i) => join(dir, `seed-${i + 1}.eml`));
  await Promise.all(messages.map((m, i) => writeFile(paths[i] as string, m.bytes)));
  return paths;
}

/** The header block of a message in wire form plus the blank line: what TOP n 0 returns. */
export function headerOf(wire: Buffer): Buffer {
  const end = wire.indexOf('\r\n\r\n');
  return end < 0 ? wire : wire.subarray(0, end + 4);
}
