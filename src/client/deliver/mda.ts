import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { CrlfToLf } from '../../message/line-ends.js';
import { Pop3ClientError } from '../errors.js';
import { DeliveryError, type Delivery, type Destination, type MessageMeta, type RecoveryOutcome } from './types.js';

/** sysexits.h EX_TEMPFAIL: the MDA asks to try again later. */
const EX_TEMPFAIL = 75;
const STDERR_KEEP = 2048;

export interface MdaOptions {
  /** A run longer than this is killed and counts as a temporary failure (default 10 min). */
  readonly timeoutMs?: number;
}

/**
 * Hands each message to a command (procmail, maildrop, dovecot-lda, `postel deliver`...)
 * on its standard input, with LF line ends as local MDAs expect, run by /bin/sh. Exit 0
 * means delivered; 75 (EX_TEMPFAIL) a temporary failure; anything else a permanent one.
 * Either way a failed message stays on the server.
 *
 * The environment carries POSTEL_FETCH_ACCOUNT, POSTEL_FETCH_UIDL and POSTEL_FETCH_SIZE.
 */
export class MdaDestination implements Destination {
  readonly description: string;

  constructor(
    private readonly command: string,
    private readonly options: MdaOptions = {},
  ) {
    this.description = `mda:${command}`;
  }

  async begin(meta: MessageMeta): Promise<Delivery> {
    return { token: null, write: (message) => this.run(message, meta), abort: async () => undefined };
  }

  /** An MDA keeps no record we could consult: after a crash we cannot know. */
  async recover(): Promise<RecoveryOutcome> {
    return 'unknown';
  }

  private run(message: Readable, meta: MessageMeta): Promise<void> {
    const child = spawn('/bin/sh', ['-c', this.command], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, POSTEL_FETCH_ACCOUNT: meta.account, POSTEL_FETCH_UIDL: meta.uid, POSTEL_FETCH_SIZE: String(meta.size) },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_KEEP) stderr += d.toString('utf8').slice(0, STDERR_KEEP - stderr.length);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), this.options.timeoutMs ?? 600_000);
    const converter = new CrlfToLf();
    const toLf = new Transform({
      transform(chunk: Buffer, _enc, done) {
        done(null, converter.push(chunk));
      },
      flush(done) {
        done(null, converter.end());
      },
    });
    // An MDA may exit without reading everything (e.g. a filter that discards): its exit
    // code decides, and the rest of the message is dropped. A failing source (the POP3
    // connection) is a failure whatever the MDA says.
    let sourceFailed: Error | undefined;
    const fed = pipeline(message, toLf, child.stdin).catch((err: unknown) => {
      if (err instanceof Pop3ClientError) sourceFailed = err;
    });
    return (async () => {
      try {
        const [, result] = await Promise.all([fed, exited]);
        if (sourceFailed) throw new DeliveryError(`message stream failed: ${sourceFailed.message}`, true, { cause: sourceFailed });
        if (result.code === 0) return;
        const detail = stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
        if (result.code === null) throw new DeliveryError(`MDA ${this.command} was killed by ${result.signal ?? 'a signal'}${detail}`, true);
        throw new DeliveryError(`MDA ${this.command} exited with ${result.code}${detail}`, result.code === EX_TEMPFAIL);
      } catch (err) {
        if (err instanceof DeliveryError) throw err;
        throw new DeliveryError(`cannot run MDA ${this.command}: ${(err as Error).message}`, true, { cause: err });
      } finally {
        clearTimeout(timer);
      }
    })();
  }
}
