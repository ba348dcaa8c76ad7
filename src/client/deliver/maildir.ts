import { hostname } from 'node:os';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { escapeHostname, makeUniqueName } from '../../store/maildir/file-names.js';
import { CrlfToLf } from '../../message/line-ends.js';
import { fsyncDir, writeStream } from '../../fs/durable.js';
import { errnoCode } from '../../fs/errno.js';
import { DeliveryError, type Delivery, type Destination, type MessageMeta, type RecoveryOutcome, type RecoveryToken } from './types.js';

/**
 * Delivery into a Maildir (e.g. ~/Maildir), by the Maildir rules: write tmp/NAME, fsync,
 * rename to new/NAME,S=SIZE, fsync new/. Lines are stored with LF ends, as Dovecot,
 * Postfix and mutt expect. The unique NAME is chosen before writing and recorded in the
 * fetch state, so after a crash the message can be found (delivered) or its tmp/ file
 * removed (not delivered).
 */
export class MaildirDestination implements Destination {
  readonly description: string;
  private readonly host = escapeHostname(hostname());

  constructor(private readonly root: string) {
    this.description = `maildir:${root}`;
  }

  async begin(_meta: MessageMeta): Promise<Delivery> {
    await this.ensure();
    const unique = makeUniqueName(this.host);
    const tmpPath = join(this.root, 'tmp', unique);
    return {
      token: { maildir: unique },
      write: (message) => this.write(message, unique, tmpPath),
      abort: async () => {
        await unlink(tmpPath).catch(() => undefined);
      },
    };
  }

  async recover(token: RecoveryToken): Promise<RecoveryOutcome> {
    const unique = token?.['maildir'];
    if (typeof unique !== 'string' || unique.includes('/')) return 'unknown';
    for (const sub of ['new', 'cur']) {
      let names: string[];
      try {
        names = await readdir(join(this.root, sub));
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue;
        throw err;
      }
      // A mail reader may have moved it to cur/ and added flags (":2,S").
      if (names.some((n) => n === unique || n.startsWith(`${unique},`) || n.startsWith(`${unique}:`))) return 'delivered';
    }
    await unlink(join(this.root, 'tmp', unique)).catch(() => undefined);
    return 'not-delivered';
  }

  private async ensure(): Promise<void> {
    try {
      for (const sub of ['', 'tmp', 'new', 'cur']) await mkdir(join(this.root, sub), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new DeliveryError(`cannot create Maildir ${this.root}: ${(err as Error).message}`, true, { cause: err });
    }
  }

  private async write(message: Readable, unique: string, tmpPath: string): Promise<void> {
    let handle;
    let newPath: string | undefined;
    try {
      handle = await open(tmpPath, 'wx', 0o600);
      const converter = new CrlfToLf();
      const size = await writeStream(handle, message, (c) => converter.push(c), () => converter.end());
      await handle.sync();
      await handle.close();
      handle = undefined;
      const newDir = join(this.root, 'new');
      newPath = join(newDir, `${unique},S=${size}`);
      await rename(tmpPath, newPath);
      await fsyncDir(newDir);
    } catch (err) {
      await handle?.close().catch(() => undefined);
      // After a failed directory fsync the rename may not survive a crash; taking the
      // message back keeps "rejected means not delivered", so the next run fetches it.
      await unlink(newPath ?? tmpPath).catch(() => undefined);
      if (err instanceof DeliveryError) throw err;
      // A failing source (the POP3 connection) is not the Maildir's fault; the caller
      // sees the original error as the cause.
      throw new DeliveryError(`Maildir delivery to ${this.root} failed: ${(err as Error).message}`, true, { cause: err });
    }
  }
}
