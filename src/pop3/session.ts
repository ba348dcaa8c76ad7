import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthPolicy } from '../auth/policy.js';
import type { SaslMechanism } from '../auth/sasl/types.js';
import type { Authenticator } from '../auth/types.js';
import { decodeBase64 } from '../message/base64.js';
import type { WireSource } from '../message/wire-source.js';
import type { MailStore, Maildrop } from '../store/types.js';
import { badCommand, Pop3Error } from './errors.js';
import { LineReader, type LineEvent } from './line-reader.js';
import { parseCommand } from './parser.js';
import type { Pop3Faults } from './faults.js';
import type { ObservedPop3Session, Pop3Observer } from './observer.js';
import type { Pop3Policy } from './policy.js';
import { initialState, type AuthorizationState, type EndReason, type PendingSasl, type SessionState, type SessionStats } from './state.js';
import { writeBody, writeLine, writeLines, writeMessage } from './responses.js';
import { localize } from './texts/index.js';
import type { Transport } from './transport.js';
import { continueSasl } from './commands/auth.js';
import type { HandlerContext, Reply, Step } from './commands/context.js';
import { lookup } from './commands/index.js';

export type { EndReason } from './state.js';

export interface SessionDeps {
  readonly store: MailStore;
  readonly auth: Authenticator;
  readonly policy: Pop3Policy;
  readonly logger: Logger;
  /** SASL mechanisms that AUTH may use (RFC 5034); none means AUTH lists nothing. */
  readonly sasl?: readonly SaslMechanism[];
  /** Failure budgets, delays and the answer time of every login, shared with the other listeners. */
  readonly authPolicy: AuthPolicy;
  readonly now?: () => Date;
  /** Told about the session, its commands and logins (metrics, the HTTP API). */
  readonly observer?: Pop3Observer;
  /** Faults to inject on purpose (the chaos switch); none in normal operation. */
  readonly faults?: Pop3Faults;
}

/** Lines waiting beyond this pause reading, so a flood of pipelined commands stays bounded. */
const MAX_QUEUED_LINES = 64;
/** SASL responses and AUTH lines may be this long (OAuth tokens reach several KB). */
const SASL_LINE_MAX = 16 * 1024;

/**
 * One POP3 connection: reads lines, runs one command at a time in arrival order (which
 * makes RFC 2449 pipelining safe by construction), and answers. Knows nothing of sockets.
 * Handlers (commands/) return a Step; this loop alone writes to the transport and assigns
 * the state (apply).
 */
export class Session {
  readonly id = randomBytes(6).toString('hex');
  private current: SessionState = initialState;
  /** Of human-readable texts (RFC 6856 LANG); follows the state's options. */
  private language = initialState.options.language;
  readonly stats: SessionStats = { user: null, commands: 0, retr: 0, retrBytes: 0, top: 0, dele: 0, expunged: 0, badCommands: 0, authFailures: 0 };
  private readonly log: Logger;
  private readonly ctx: HandlerContext;

  private readonly reader: LineReader;
  private readonly queue: LineEvent[] = [];
  private busy = false;
  private ending = false;
  private endReason: EndReason | null = null;
  private readonly startedAt: number;
  private finishPromise: Promise<void> | null = null;
  private abortStream: (() => void) | null = null;
  /** Work a step left running after its transition (QUIT's commit): the end of the session waits for it. */
  private followUp: Promise<Step> | null = null;
  private readonly observer: Pop3Observer | undefined;
  private readonly faults: Pop3Faults | undefined;
  /** Whether the command being run was refused (for the observer). */
  private refused = false;

  constructor(
    private readonly transport: Transport,
    deps: SessionDeps,
  ) {
    const policy = deps.policy;
    // The reader's hard bound is the larger SASL one; handle() holds commands to the smaller.
    this.reader = new LineReader(Math.max(policy.maxLineLength, SASL_LINE_MAX + 2));
    this.startedAt = Date.now();
    this.observer = deps.observer;
    this.faults = deps.faults;
    this.log = deps.logger.child({ session: this.id, remote: transport.remoteAddress });
    const apopTimestamp = policy.apop ? `<${process.pid}.${randomBytes(8).toString('hex')}.${Math.floor(Date.now() / 1000)}@${policy.hostname}>` : null;
    this.ctx = {
      policy,
      store: deps.store,
      auth: deps.auth,
      sasl: deps.sasl ?? [],
      authPolicy: deps.authPolicy,
      // The transport itself, seen through the read-only Peer view.
      peer: transport,
      apopTimestamp,
      stats: this.stats,
      log: this.log,
      observer: deps.observer,
      now: deps.now ?? (() => new Date()),
    };
  }

  /** The RFC 1939 state; only apply() changes it. */
  get state(): SessionState {
    return this.current;
  }

  private get policy(): Pop3Policy {
    return this.ctx.policy;
  }

  start(): void {
    this.log.debug({ event: 'session_start' }, 'session start');
    this.observer?.sessionStarted(this.observed);
    const timestamp = this.ctx.apopTimestamp;
    void this.reply(`+OK ${this.policy.implementation} ready.${timestamp ? ` ${timestamp}` : ''}`);
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

  /** The autologout timer (RFC 1939 section 3) or the login timeout fired: no UPDATE state. */
  timeout(message = 'Autologout; idle for too long'): Promise<void> {
    if (this.ending) return this.finish('timeout');
    if (this.busy) {
      // Stuck writing to a peer that stopped reading: nothing more can be said.
      this.abortStream?.();
      this.transport.destroy();
    } else {
      this.transport.write(`${this.localized(`-ERR ${message}`)}\r\n`);
      this.transport.end();
    }
    return this.finish('timeout');
  }

  /** Server shutdown (or an operator's end): ends the session without committing. A QUIT already under way completes. */
  async shutdown(text = 'Server shutting down'): Promise<void> {
    if (this.ending) return this.finish(this.endReason ?? 'shutdown');
    if (this.state.name === 'UPDATE') {
      // The client said QUIT and its deletions are being committed: let that finish.
      return this.finish('quit');
    }
    if (this.busy) {
      this.abortStream?.();
      this.transport.destroy();
    } else {
      this.transport.write(`${this.localized(`-ERR [SYS/TEMP] ${text}`)}\r\n`);
      this.transport.end();
    }
    return this.finish('shutdown');
  }

  /**
   * The one place the state changes. A session that ended while a handler ran takes no new
   * state, and a maildrop opened for it meanwhile goes back unchanged. False then.
   */
  private async apply(next: SessionState): Promise<boolean> {
    if (this.current.name === 'CLOSED') {
      if (next.name === 'TRANSACTION') await this.release(next.maildrop);
      return false;
    }
    this.current = next;
    // UPDATE and CLOSED keep the language chosen before them (QUIT answers in it).
    if (next.name === 'AUTHORIZATION' || next.name === 'TRANSACTION') this.language = next.options.language;
    return true;
  }

  /** Carries out what a handler returned (see Step for the order). */
  private async perform(first: Step): Promise<void> {
    let step: Step | null = first;
    while (step) {
      if (step.startTls) return this.startTls(step.next);
      if (step.next && !(await this.apply(step.next))) return;
      if (step.reply !== undefined && !(await this.send(step.reply, step.message))) return;
      if (step.end) await this.close(step.end);
      if (!step.after) return;
      this.followUp = step.after();
      try {
        step = await this.followUp;
      } finally {
        this.followUp = null;
      }
    }
  }

  /** Runs a handler and its step; Pop3Errors are answered, anything else is an internal fault. */
  private async runStep(verb: string, produce: () => Promise<Step>, onFault?: SessionState): Promise<void> {
    try {
      await this.perform(await produce());
    } catch (err) {
      if (err instanceof Pop3Error) return this.refuse(err);
      if (onFault) await this.apply(onFault);
      this.log.error({ err, event: 'internal_error', command: verb }, 'command failed');
      this.refused = true;
      await this.reply('-ERR [SYS/TEMP] Internal error; try again later');
    }
  }

  /** False when the session had to end because a message could not be sent whole. */
  private async send(reply: Reply, message: WireSource | undefined): Promise<boolean> {
    if (reply instanceof Pop3Error) await this.refuse(reply);
    else if (typeof reply !== 'string') await ('body' in reply ? writeBody(this.transport, this.localized(reply.status), reply.body) : writeLines(this.transport, this.localized(reply.status), reply.lines));
    else if (message) return this.stream(this.localized(reply), message);
    else {
      if (reply.startsWith('-')) this.refused = true;
      await this.reply(reply);
    }
    return true;
  }

  private reply(line: string): Promise<void> {
    return writeLine(this.transport, this.localized(line));
  }

  /** A status line in the language the client chose with LANG (RFC 6856). */
  private localized(line: string): string {
    return localize(line, this.language);
  }

  /** Sends a message; false when its source failed and the session had to end. */
  private async stream(status: string, original: WireSource): Promise<boolean> {
    const user = this.stats.user;
    const source = this.faults && user !== null ? this.faults.message(user, original) : original;
    this.abortStream = () => source.close();
    try {
      await writeMessage(this.transport, status, source);
      return true;
    } catch (err) {
      // The +OK may have gone out, so no -ERR can follow: the only safe signal is to hang up.
      this.log.error({ err, event: 'stream_failed' }, 'message stream failed');
      this.transport.destroy();
      await this.finish('error');
      return false;
    } finally {
      this.abortStream = null;
    }
  }

  /**
   * STLS: drops every byte read so far (RFC 2595 section 4: nothing sent before the
   * handshake may count), answers, runs TLS, and enters `next`, AUTHORIZATION afresh.
   */
  private async startTls(next: SessionState | undefined): Promise<void> {
    this.queue.length = 0;
    this.reader.reset();
    try {
      await this.transport.startTls(`${this.localized('+OK Begin TLS negotiation now')}\r\n`);
    } catch (err) {
      this.log.info({ event: 'stls_failed', reason: (err as Error).message }, 'TLS negotiation failed');
      this.transport.destroy();
      await this.finish('error');
      return;
    }
    this.queue.length = 0;
    this.reader.reset();
    if (next) await this.apply(next);
    this.log.debug({ event: 'tls_started', protocol: this.transport.tls?.protocol }, 'TLS started');
  }

  /** Flushes what was said, closes the connection and ends the session. */
  private close(reason: EndReason): Promise<void> {
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
    this.stats.commands++;
    const state = this.current;
    if (state.name === 'AUTHORIZATION' && state.sasl) return this.handleSaslResponse(state, state.sasl, event);
    if (event.kind === 'too-long' || (event.line.length + 2 > this.policy.maxLineLength && !isAuthLine(event.line))) {
      return this.refuse(badCommand(`Line too long (limit ${this.policy.maxLineLength} octets)`));
    }
    const parsed = parseCommand(event.line);
    if (!parsed.ok && parsed.verb === undefined) return this.refuse(badCommand(parsed.error));
    const verb = parsed.ok ? parsed.command.verb : (parsed.verb as string);
    // Whether the verb is valid here is told before anything about its arguments.
    const found = lookup(state, verb, this.policy);
    const observer = this.observer;
    const started = observer ? performance.now() : 0;
    const retrBytes = this.stats.retrBytes;
    this.refused = false;
    let fault: ReturnType<Pop3Faults['commandError']> = null;
    if (found.kind === 'unknown') await this.refuse(badCommand('Unknown command'));
    else if (found.kind === 'wrong-state') await this.refuse(badCommand(`${verb} is not valid in this state`));
    else if (this.faults && (fault = this.faults.commandError(verb, 'user' in state ? state.user : null))) {
      this.log.info({ event: 'chaos', command: verb, code: fault.code }, 'injected fault');
      await this.refuse(new Pop3Error(fault.text, fault.code));
    } else {
      await this.runStep(verb, async () => {
        const refused = found.gate?.(this.ctx);
        if (refused) throw refused;
        if (!parsed.ok) throw badCommand(parsed.error);
        return found.run(parsed.command, this.ctx);
      });
    }
    observer?.commandDone(found.kind === 'unknown' ? 'UNKNOWN' : verb, !this.refused, (performance.now() - started) / 1000, this.stats.retrBytes - retrBytes);
  }

  /** A line during AUTH: `*` cancels, anything else is a base64 response (RFC 5034 section 4). */
  private async handleSaslResponse(state: AuthorizationState, pending: PendingSasl, event: LineEvent): Promise<void> {
    const ended: AuthorizationState = { ...state, sasl: null };
    const text = event.kind === 'line' ? event.line.toString('latin1') : null;
    if (text === '*') return this.perform({ next: ended, reply: '-ERR Authentication cancelled' });
    const response = text === null ? null : decodeBase64(text);
    if (response === null) {
      return this.perform({ next: ended, reply: badCommand(text === null ? 'Line too long' : 'Invalid base64 in SASL response') });
    }
    await this.runStep('AUTH', () => continueSasl(state, pending, response, this.ctx), ended);
  }

  private async refuse(error: Pop3Error): Promise<void> {
    this.refused = true;
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
    if (this.followUp) await this.followUp.catch(() => undefined);
    const state = this.current;
    // UPDATE has committed (or failed to) and released the maildrop itself.
    if (state.name !== 'UPDATE') await this.apply({ name: 'CLOSED' });
    if (state.name === 'TRANSACTION') await this.release(state.maildrop);
    this.observer?.sessionEnded(this.observed, reason);
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

  /** This session as observers see it (made once, on first use). */
  private observedView: ObservedPop3Session | undefined;
  private get observed(): ObservedPop3Session {
    if (this.observedView) return this.observedView;
    const session = this;
    return (this.observedView = {
      id: this.id,
      remote: this.transport.remoteAddress,
      startedAt: new Date(this.startedAt),
      get user() {
        return session.current.name === 'TRANSACTION' || session.current.name === 'UPDATE' ? session.stats.user : null;
      },
      get state() {
        return session.current.name;
      },
      get tls() {
        return session.transport.tls !== null;
      },
      get bytesIn() {
        return session.transport.bytesIn;
      },
      get bytesOut() {
        return session.transport.bytesOut;
      },
      get commands() {
        return session.stats.commands;
      },
      end: (text) => this.shutdown(text),
    });
  }

  private async release(maildrop: Maildrop): Promise<void> {
    try {
      await maildrop.release();
    } catch (err) {
      this.log.error({ err, event: 'release_failed' }, 'could not release maildrop');
    }
  }
}

function isAuthLine(line: Buffer): boolean {
  return line.length > 5 && line.subarray(0, 5).toString('latin1').toUpperCase() === 'AUTH ';
}
