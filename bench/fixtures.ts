import { randomBytes } from 'node:crypto';
import { chownSync, linkSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../src/auth/password-schemes.js';
import { parseShaCryptSetting, shaCrypt } from '../src/auth/sha-crypt.js';

/*
 * Users and messages, made once per run and given to both servers: the same passwd-file
 * lines, and the same message files hard-linked into each server's Maildir tree, so
 * neither server reads bytes the other does not.
 */

export type Scheme = 'PLAIN' | 'SHA512-CRYPT' | 'SCRYPT';

export interface BenchUser {
  readonly user: string;
  readonly password: string;
  readonly scheme: Scheme;
  /** Corpus message files (Maildir names) this user's new/ holds. */
  readonly messages: readonly CorpusMessage[];
}

export interface CorpusMessage {
  /** Absolute path of the corpus file. */
  readonly path: string;
  /** The Maildir name in new/: `<unique>,S=<stored>,W=<wire>`, as Dovecot's LDA and postel write. */
  readonly name: string;
  readonly wireSize: number;
}

/** Lines of ~70 characters: what mail text looks like, and LF ends as Maildir stores them. */
const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua'.split(' ');

let counter = 0;
const baseSecs = Math.floor(Date.now() / 1000) - 86_400;

/** A message of about `size` bytes (LF line ends) with a unique Message-ID. */
export function messageText(size: number, id: string): Buffer {
  const header =
    `Return-Path: <sender@example.org>\n` +
    `From: Sender <sender@example.org>\n` +
    `To: Reader <reader@localhost>\n` +
    `Subject: benchmark message ${id}\n` +
    `Date: Thu, 01 Jan 2026 00:00:00 +0000\n` +
    `Message-ID: <${id}@bench.localhost>\n` +
    `MIME-Version: 1.0\n` +
    `Content-Type: text/plain; charset=us-ascii\n\n`;
  // Written straight into one buffer: a 1 GB message (--store postgres) as strings passes
  // V8's string and heap limits. Every line is at most 68 octets plus a word, a dot and LF.
  const out = Buffer.allocUnsafe(size + 256);
  let length = out.write(header, 0, 'latin1');
  let w = id.length;
  let n = 0;
  for (; length < size; n++) {
    let line = '';
    while (line.length < 68) line += (line ? ' ' : '') + WORDS[w++ % WORDS.length];
    // Now and then a line starting with '.', which dot-stuffing must double.
    if (n % 97 === 50) line = `.${line}`;
    length += out.write(line, length, 'latin1');
    out[length++] = 0x0a;
  }
  if (n === 0) out[length++] = 0x0a; // as the joined-lines form always ended with one
  return out.subarray(0, length);
}

/** Bytes RETR sends: every LF as CRLF (the text has no CR and ends with LF). */
export function wireSizeOf(text: Buffer): number {
  let lf = 0;
  for (let i = text.indexOf(10); i >= 0; i = text.indexOf(10, i + 1)) lf++;
  return text.length + lf;
}

/**
 * Writes messages into the corpus directory. `size` may be one size or a function of the
 * index, `owner` (uid/gid) is set on every file: Dovecot's mail processes must read them.
 */
export function writeCorpus(dir: string, prefix: string, count: number, size: number, owner: { uid: number; gid: number } | null): CorpusMessage[] {
  mkdirSync(dir, { recursive: true });
  const out: CorpusMessage[] = [];
  let template: Buffer | null = null;
  for (let i = 0; i < count; i++) {
    const id = `${prefix}-${i}-${randomBytes(4).toString('hex')}`;
    // Bulk text is made once per kind; only the Message-ID line differs between files, and
    // it is patched in place, so sizes stay identical and writing stays fast.
    const text = template === null ? (template = messageText(size, id.padEnd(40, 'x'))) : patchId(template, id.padEnd(40, 'x'));
    counter++;
    const stored = text.length;
    const wire = wireSizeOf(text);
    const name = `${baseSecs + Math.floor(counter / 1000)}.M${counter % 1_000_000}P${process.pid}.bench,S=${stored},W=${wire}`;
    const path = join(dir, name);
    writeFileSync(path, text, { mode: 0o600 });
    if (owner) chownSync(path, owner.uid, owner.gid);
    out.push({ path, name, wireSize: wire });
  }
  return out;
}

function patchId(template: Buffer, id: string): Buffer {
  const copy = Buffer.from(template);
  const at = copy.indexOf('Message-ID: <') + 'Message-ID: <'.length;
  copy.write(id, at, 'latin1');
  const subject = copy.indexOf('benchmark message ') + 'benchmark message '.length;
  copy.write(id, subject, 'latin1');
  return copy;
}

/** Creates `root/user/{new,cur,tmp}` and hard-links the user's messages into new/. */
export function populateMaildir(root: string, user: BenchUser, owner: { uid: number; gid: number } | null): void {
  const dir = join(root, user.user);
  for (const sub of ['', 'new', 'cur', 'tmp']) {
    const path = join(dir, sub);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    if (owner) chownSync(path, owner.uid, owner.gid);
  }
  for (const m of user.messages) linkSync(m.path, join(dir, 'new', m.name));
}

/** The passwd-file line both servers read: `name:{SCHEME}secret::::::`. */
export async function passwdLine(user: BenchUser): Promise<string> {
  return `${user.user}:${await storedSecret(user.password, user.scheme)}::::::`;
}

async function storedSecret(password: string, scheme: Scheme): Promise<string> {
  switch (scheme) {
    case 'PLAIN':
      return `{PLAIN}${password}`;
    case 'SCRYPT':
      return hashPassword(password, 'SCRYPT');
    case 'SHA512-CRYPT': {
      // glibc's default: 5000 rounds, 16 salt characters.
      const salt = randomBytes(12).toString('base64').replace(/\+/g, '.');
      const setting = parseShaCryptSetting(`$6$${salt}`);
      if (!setting) throw new Error('bad SHA512-CRYPT setting');
      return `{SHA512-CRYPT}${(await shaCrypt(password, setting)).toString('latin1')}`;
    }
  }
}

export function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}
