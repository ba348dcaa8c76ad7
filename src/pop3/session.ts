import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { FailureLimiter } from '../auth/failure-limiter.js';
import type { SaslContext, SaslExchange, SaslMechanism } from '../auth/sasl/types.js';
import type { Authenticator, AuthContext } from '../auth/types.js';
import type { MailStore, Maildrop } from '../store/types.js';
import { MessageGoneError } from '../store/errors.js';
import { DotStuffer } from './dot-stuffer.js';
import { FRAMED_CAPACITY } from './framing-kernel.js';
import { Pop3Error } from './errors.js';
import { LineReader, type LineEvent } from './line-reader.js';
import { parseCommand } from './parser.js';
import type { Pop3Policy } from './policy.js';
import type { SessionState, SessionStats } from './state.js';
import type { Transport } from './transport.js';
import { continueSasl } from './commands/auth.js';
import { commandTable, knownVerbs } from './commands/index.js';

export interface SessionDeps {
  readonly store: MailStore;
  readonly auth: Authenticator;
  readonly policy: Pop3Policy;
  readonly logger: Logger;
  /** SASL mechanisms that AUTH may use (RFC 5034); none means AUTH lists nothing. */
  readonly sasl?: readonly SaslMechanism[];
  /** Budget of failed logins per address and user, shared by all sessions. */
  readonly failures?: FailureLimiter;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** An AUTH exchange under way: the next lines are its responses, not commands. */
export interface PendingSasl {
  readonly exchange: SaslExchange;
  readonly mechanism: string;
  /** Set when the server-final data went out and only the client's empty reply is awaited. */
  finalUser?: string;
}

export type EndReason = 'quit' | 'disconnect' | 'timeout' | 'shutdown' | 'too-many-errors' | 'error';

/** Lines waiting beyond this pause reading, so a flood of pipelined commands stays bounded. */
const MAX_QUEUED_LINES = 64;
/** Chunks of a message this large are framed into reused buffers (see streamMessage). */
const POOLED_CHUNK = 64 * 1024;
/** Messages from this size on are read into a reused buffer when the store can (openSource). */
const LARGE_MESSAGE = 1024 * 1024;
/** The framing kernel takes up to 256 KiB at once. */
const READ_BUFFER = 256 * 1024;
/** SASL responses and AUTH lines may be this long (OAuth tokens reach several KB). */
const SASL_LINE_MAX = 16 * 1024;
/**
 * Multi-line answers are written in pieces of about this many characters: large enough
 * that a 100,000-line UIDL is a few writes rather than a hundred drain waits.
 */
const WRITE_BATCH = 256 * 1024;

/**
 * One POP3 connection: reads lines, runs one command at a time in arrival order (which
 * makes RFC 2449 pipelining safe by construction), and answers. Knows nothing of sockets.
 */
export class Session {
  readonly id = randomBytes(6).toString('hex');
  state: SessionState = { name: 'AUTHORIZATION', user: null, authFailures: 0 };
  readonly stats: SessionStats = { user: null, retr: 0, retrBytes: 0, top: 0, dele: 0, expunged: 0, badCommands: 0, authFailures: 0 };
  /** RFC 1939 APOP timestamp, when APOP is on. */
  readonly apopTimestamp: string | null;
  readonly log: Logger;

  private readonly reader: LineReader;
  private readonly queue: LineEvent[] = [];
  private busy = false;
  private ending = false;
  private endReason: EndReason | null = null;
  private readonly startedAt: number;
  private finishPromise: Promise<void> | null = null;
  private abortStream: (() => void) | null = null;
  /** Set by QUIT while it commits, so that the end of the session waits for it. */
  pendingCommit: Promise<void> | null = null;
  sasl: PendingSasl | null = null;

  constructor(
    readonly transport: Transport,
    readonly deps: SessionDeps,
  ) {
    // The reader's hard bound is the larger SASL one; handle() holds commands to the smaller.
    this.reader = new LineReader(Math.max(deps.policy.maxLineLength, SASL_LINE_MAX + 2));
    this.startedAt = Date.now();
    this.log = deps.logger.child({ session: this.id, remote: transport.remoteAddress });
    this.apopTimestamp = deps.policy.apop
      ? `<${process.pid}.${randomBytes(8).toString('hex')}.${Math.floor(Date.now() / 1000)}@${deps.policy.hostname}>`
      : null;
  }

  get policy(): Pop3Policy {
    return this.deps.policy;
  }

  get authContext(): AuthContext {
    return { remoteAddress: this.transport.remoteAddress, secure: this.transport.secure };
  }

  /** Plaintext passwords may be sent here: TLS, a trusted network, or policy allows it. */
  get plaintextAllowed(): boolean {
    return !this.policy.disablePlaintextAuth || this.transport.secure;
  }

  get saslContext(): SaslContext {
    const tls = this.transport.tls;
    return {
      remoteAddress: this.transport.remoteAddress,
      // What mechanisms need to know is whether a password may be sent here.
      secure: this.plaintextAllowed,
      ...(tls
        ? {
            tls: {
              ...(tls.exporter ? { exporter: tls.exporter } : {}),
              ...(tls.serverEndPoint ? { serverEndPoint: tls.serverEndPoint } : {}),
              ...(tls.clientCertUser ? { clientCertUser: tls.clientCertUser } : {}),
            },
          }
        : {}),
    };
  }

  /** The SASL mechanisms this connection may use now, in configured order. */
  saslMechanisms(): SaslMechanism[] {
    const ctx = this.saslContext;
    return (this.deps.sasl ?? []).filter((m) => m.available(ctx) && (!m.exposesPassword || this.plaintextAllowed));
  }

  /**
   * STLS: drops every byte read so far (RFC 2595 section 4: nothing sent before the
   * handshake may count), answers, runs TLS, and starts AUTHORIZATION afresh.
   */
  async startTls(): Promise<void> {
    this.queue.length = 0;
    this.reader.reset();
    try {
      await this.transport.startTls('+OK Begin TLS negotiation now\r\n');
    } catch (err) {
      this.log.info({ event: 'stls_failed', reason: (err as Error).message }, 'TLS negotiation failed');
      this.transport.destroy();
      await this.finish('error');
      return;
    }
    this.queue.length = 0;
    this.reader.reset();
    const failures = this.state.name === 'AUTHORIZATION' ? this.state.authFailures : 0;
    this.state = { name: 'AUTHORIZATION', user: null, authFailures: failures };
    this.log.debug({ event: 'tls_started', protocol: this.transport.tls?.protocol }, 'TLS started');
  }

  now(): Date {
    return this.deps.now ? this.deps.now() : new Date();
  }

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return this.deps.sleep ? this.deps.sleep(ms) : new Promise((resolve) => setTimeout(resolve, ms));
  }

  start(): void {
    this.log.debug({ event: 'session_start' }, 'session start');
    void this.reply(`+OK ${this.policy.implementation} ready.${this.apopTimestamp ? ` ${this.apopTimestamp}` : ''}`);
  }

  receive(chunk: Buffer): void {
    if (this.ending) return;
    for (const event of this.reader.push(chunk)) this.queue.push(event);
    if (this.queue.length >= MAX_QUEUED_LINES) this.transport.pauseInput();
    void this.run();
  }

  /** The peer went away: nothing is committed (RFC 1939 section 6). */
  disconnected(): Promise<void> {
    return this.finish('disconnect');
  }

  /** The autologout timer fired (RFC 1939 section 3): no UPDATE state. */
  timeout(): Promise<void> {
    if (this.ending) return this.finish('timeout');
    if (this.busy) {
      // Stuck writing to a peer that stopped reading: nothing more can be said.
      this.abortStream?.();
      this.transport.destroy();
    } else {
      this.transport.write('-ERR Autologout; idle for too long\r\n');
      this.transport.end();
    }
    return this.finish('timeout');
  }

  /** Server shutdown: ends the session without committing. A QUIT already under way completes. */
  async shutdown(): Promise<void> {
    if (this.ending) return this.finish(this.endReason ?? 'shutdown');
    if (this.state.name === 'UPDATE') {
      // The client said QUIT and its deletions are being committed: let that finish.
      return this.finish('quit');
    }
    if (this.busy) {
      this.abortStream?.();
      this.transport.destroy();
    } else {
      this.transport.write('-ERR [SYS/TEMP] Server shutting down\r\n');
      this.transport.end();
    }
    return this.finish('shutdown');
  }

  /** Sends one response line. */
  async reply(line: string): Promise<void> {
    if (this.transport.closed) return;
    if (!this.transport.write(`${line}\r\n`)) await this.transport.drained();
  }

  /** Sends a multi-line response: the status line, the lines, and the terminating ".". */
  async replyLines(first: string, lines: Iterable<string>): Promise<void> {
    let batch = `${first}\r\n`;
    for (const line of lines) {
      // Lines built by postel never start with '.', but stuff anyway: the rule is cheap.
      batch += line.charCodeAt(0) === 46 ? `.${line}\r\n` : `${line}\r\n`;
      if (batch.length >= WRITE_BATCH) {
        if (this.transport.closed) return;
        if (!this.transport.write(batch)) await this.transport.drained();
        batch = '';
      }
    }
    await this.reply(`${batch}.`);
  }

  /**
   * Streams message `index` as a multi-line response: RETR, or TOP with `bodyLines`.
   * Memory stays flat: each chunk is written and, when the peer is slow, the next one is
   * read only after the socket drains. Returns the wire octets sent for the message.
   */
  async streamMessage(index: number, status: string, bodyLines?: number): Promise<number> {
    if (this.state.name !== 'TRANSACTION') throw new Error('streamMessage outside TRANSACTION');
    const stuffer = new DotStuffer(bodyLines);
    let source: MessageSource;
    try {
      source = await openSource(this.state.maildrop, index, stuffer.fillsBuffers);
    } catch (err) {
      if (err instanceof MessageGoneError) throw new Pop3Error('Message was removed from the maildrop by another program', 'SYS/PERM');
      throw err;
    }
    const transport = this.transport;
    let sent = 0;
    // Writes are corked and each piece is held until the next exists, so the status line
    // leaves with the first piece and the terminator with the last: a message that fits in
    // one read goes out in one system call instead of three, without copying it.
    let held: Buffer | null = null;
    // Large messages are framed into a few buffers that come back once written, instead of
    // a new one per chunk: hundreds of MB of garbage would make the process grow by tens
    // of MB before a collection, memory the allocator then keeps.
    const spare: Buffer[] = [];
    let heldBuffer: Buffer | undefined;
    this.abortStream = () => source.close();
    transport.cork();
    try {
      transport.write(`${status}\r\n`);
      for await (const chunk of source.chunks) {
        if (transport.closed) break;
        const pooled = stuffer.fillsBuffers && chunk.length >= POOLED_CHUNK;
        const buffer = pooled ? (spare.pop() ?? Buffer.allocUnsafe(FRAMED_CAPACITY)) : undefined;
        const out = stuffer.push(chunk, buffer);
        if (out.length > 0) {
          sent += out.length;
          if (held) {
            const done = heldBuffer;
            const flushed = done && ((): void => void spare.push(done));
            if (!transport.write(held, flushed)) {
              transport.uncork();
              await transport.drained();
              transport.cork();
            }
          }
          held = out;
          heldBuffer = out.buffer === buffer?.buffer ? buffer : undefined;
        }
        if (stuffer.done) break;
      }
    } catch (err) {
      // The +OK may have gone out, so no -ERR can follow: the only safe signal is to hang up.
      this.log.error({ err, event: 'stream_failed', message: index + 1 }, 'message stream failed');
      transport.uncork();
      transport.destroy();
      await this.finish('error');
      return sent;
    } finally {
      this.abortStream = null;
      source.close();
    }
    if (!transport.closed) {
      if (held) transport.write(held);
      transport.write(stuffer.end());
    }
    transport.uncork();
    await transport.drained();
    return sent;
  }

  /** Flushes what was said, closes the connection and ends the session. */
  close(reason: EndReason): Promise<void> {
    this.transport.end();
    return this.finish(reason);
  }

  private async run(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length > 0 && !this.ending && !this.transport.closed) {
        const event = this.queue.shift() as LineEvent;
        await this.handle(event);
      }
    } finally {
      this.busy = false;
    }
    if (!this.ending && !this.transport.closed) this.transport.resumeInput();
  }

  private async handle(event: LineEvent): Promise<void> {
    if (this.sasl) return this.handleSaslResponse(event);
    if (event.kind === 'too-long' || (event.line.length + 2 > this.policy.maxLineLength && !isAuthLine(event.line))) {
      return this.refuse(new Pop3Error(`Line too long (limit ${this.policy.maxLineLength} octets)`, undefined, true));
    }
    const parsed = parseCommand(event.line);
    if (!parsed.ok) return this.refuse(new Pop3Error(parsed.error, undefined, true));
    const { command } = parsed;
    const handler = commandTable[this.state.name]?.[command.verb];
    if (!handler || (command.verb === 'APOP' && !this.policy.apop)) {
      const known = knownVerbs.has(command.verb) && !(command.verb === 'APOP' && !this.policy.apop);
      return this.refuse(new Pop3Error(known ? `${command.verb} is not valid in this state` : 'Unknown command', undefined, true));
    }
    try {
      await handler(this, command);
    } catch (err) {
      if (err instanceof Pop3Error) return this.refuse(err);
      this.log.error({ err, event: 'internal_error', command: command.verb }, 'command failed');
      await this.reply('-ERR [SYS/TEMP] Internal error; try again later');
    }
  }

  /** A line during AUTH: `*` cancels, anything else is a base64 response (RFC 5034 section 4). */
  private async handleSaslResponse(event: LineEvent): Promise<void> {
    const pending = this.sasl as PendingSasl;
    const text = event.kind === 'line' ? event.line.toString('latin1') : null;
    if (text === '*') {
      this.sasl = null;
      return this.reply('-ERR Authentication cancelled');
    }
    const response = text === null ? null : decodeBase64(text);
    if (response === null) {
      this.sasl = null;
      return this.refuse(new Pop3Error(text === null ? 'Line too long' : 'Invalid base64 in SASL response', undefined, true));
    }
    try {
      await continueSasl(this, pending, response);
    } catch (err) {
      this.sasl = null;
      if (err instanceof Pop3Error) return this.refuse(err);
      this.log.error({ err, event: 'internal_error', command: 'AUTH' }, 'SASL step failed');
      await this.reply('-ERR [SYS/TEMP] Internal error; try again later');
    }
  }

  private async refuse(error: Pop3Error): Promise<void> {
    if (error.badCommand && ++this.stats.badCommands >= this.policy.maxBadCommands) {
      await this.reply('-ERR Too many bad commands; closing connection');
      await this.close('too-many-errors');
      return;
    }
    await this.reply(error.wire);
  }

  /** Ends the session once: releases the maildrop uncommitted unless QUIT committed it, logs. */
  finish(reason: EndReason): Promise<void> {
    if (this.finishPromise) return this.finishPromise;
    this.ending = true;
    this.endReason = reason;
    this.queue.length = 0;
    this.finishPromise = this.cleanup(reason);
    return this.finishPromise;
  }

  private async cleanup(reason: EndReason): Promise<void> {
    if (this.pendingCommit) await this.pendingCommit.catch(() => undefined);
    const state = this.state;
    if (state.name === 'TRANSACTION') {
      this.state = { name: 'CLOSED' };
      try {
        await state.maildrop.release();
      } catch (err) {
        this.log.error({ err, event: 'release_failed' }, 'could not release maildrop');
      }
    } else if (state.name !== 'UPDATE') {
      this.state = { name: 'CLOSED' };
    }
    this.log.info(
      {
        event: 'session_end',
        reason,
        user: this.stats.user,
        durationMs: Date.now() - this.startedAt,
        retr: this.stats.retr,
        retrBytes: this.stats.retrBytes,
        top: this.stats.top,
        dele: this.stats.dele,
        expunged: this.stats.expunged,
        badCommands: this.stats.badCommands,
        authFailures: this.stats.authFailures,
      },
      'session end',
    );
  }
}

/** A message being sent: its chunks, each valid until the next is asked for. */
interface MessageSource {
  readonly chunks: AsyncIterable<Buffer>;
  close(): void;
}

/**
 * A large message, when the store can read into buffers and the chunks are consumed at
 * once (the framing kernel copies them), is read into one buffer over and over; anything
 * else comes as the store's stream.
 */
async function openSource(maildrop: Maildrop, index: number, consumedAtOnce: boolean): Promise<MessageSource> {
  const size = maildrop.messages[index]?.size ?? 0;
  if (consumedAtOnce && size >= LARGE_MESSAGE && maildrop.readMessage) {
    const reader = await maildrop.readMessage(index);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      reader.close().catch(() => undefined);
    };
    async function* chunks(): AsyncGenerator<Buffer> {
      const input = Buffer.allocUnsafe(READ_BUFFER);
      for (;;) {
        const n = await reader.read(input);
        if (n === 0 || closed) return;
        yield input.subarray(0, n);
      }
    }
    return { chunks: chunks(), close };
  }
  const stream = await maildrop.openMessage(index);
  return {
    chunks: stream as AsyncIterable<Buffer>,
    close: () => stream.destroy(),
  };
}

function isAuthLine(line: Buffer): boolean {
  return line.length > 5 && line.subarray(0, 5).toString('latin1').toUpperCase() === 'AUTH ';
}

/** Strict base64 (RFC 4648, padding required); an empty line is an empty response. */
export function decodeBase64(text: string): Buffer | null {
  if (text === '') return Buffer.alloc(0);
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}
