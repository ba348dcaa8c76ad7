import { setTimeout as sleep } from 'node:timers/promises';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerDataResult, SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { Authenticator } from '../auth/types.js';
import type { CopyOutcome, LocalDelivery } from './local-delivery.js';
import { readHeaderBlock, type FailedRecipient } from './queue/dsn.js';
import type { OutboundQueue } from './queue/outbound-queue.js';
import type { RecipientResolver, Route } from './recipients.js';
import { replies, SmtpReplyError } from './reply.js';
import { spool, type SpooledMessage } from './spool.js';
import { receivedHeader, returnPathHeader, transmissionProtocol, type TraceInfo } from './trace-headers.js';

export type IntakeKind = 'smtp' | 'lmtp' | 'submission';

/** What one listener enforces, built from the config (runtime.ts). */
export interface IntakePolicy {
  readonly kind: IntakeKind;
  readonly hostname: string;
  readonly maxConnectionsPerIp: number;
  readonly maxAuthFailures: number;
  readonly authFailureDelayMs: number;
  /** Whether a client at this address may AUTH without TLS (submission only). */
  readonly plaintextAuthFrom: (remoteAddress: string) => boolean;
  /** Commands off for every session of the listener (e.g. STARTTLS without certificates). */
  readonly disabledCommands: readonly string[];
}

export interface IntakeDeps {
  readonly auth: Authenticator;
  readonly resolver: RecipientResolver;
  readonly local: LocalDelivery;
  readonly queue: OutboundQueue;
  /** Where DATA is received before the copies are made. */
  readonly spoolDir: string;
  readonly logger: Logger;
  readonly now?: () => Date;
}

interface SessionStats {
  readonly remote: string;
  readonly startedAt: number;
  tls?: { protocol: string; cipher: string };
  user?: string;
  authFailures: number;
  messages: number;
  bytes: number;
  refusedRcpts: number;
}

/** What each recipient of a message came to, plus what must be retried or bounced. */
interface RecipientResult {
  readonly address: string;
  readonly outcome: CopyOutcome;
  /** Maildrops of this recipient whose copy failed (for an alias, while others may have worked). */
  readonly failedTargets: readonly { readonly user: string; readonly reply: SmtpReplyError }[];
}

type Handlers = Required<Pick<SMTPServerOptions, 'onConnect' | 'onSecure' | 'onAuth' | 'onMailFrom' | 'onRcptTo' | 'onData' | 'onClose'>>;

/**
 * The mail-handling side of one listener: smtp-server frames the protocol and calls these
 * handlers. Refusals are SmtpReplyErrors; anything else thrown is logged with the session id
 * and answered 451 4.3.0 without details.
 */
export class Intake {
  private readonly sessions = new Map<string, SessionStats>();
  private readonly perIp = new Map<string, number>();
  /** Sessions whose DATA is being stored: shutdown lets them finish. */
  private readonly busy = new Set<string>();
  private readonly log: Logger;
  private readonly now: () => Date;

  constructor(
    private readonly policy: IntakePolicy,
    private readonly deps: IntakeDeps,
  ) {
    this.log = deps.logger.child({ listener: policy.kind });
    this.now = deps.now ?? (() => new Date());
  }

  get connections(): number {
    return this.sessions.size;
  }

  isStoring(sessionId: string): boolean {
    return this.busy.has(sessionId);
  }

  handlers(): Handlers {
    return {
      onConnect: (session, cb) => cb(this.connect(session)),
      onSecure: (socket, session, cb) => {
        this.secured(socket as TLSSocket, session);
        cb();
      },
      onAuth: (auth, session, cb) => void this.guard(this.authenticate(auth, session), cb),
      onMailFrom: (address, session, cb) => void this.guard(this.mailFrom(address, session), cb),
      onRcptTo: (address, session, cb) => void this.guard(this.rcptTo(address, session), cb),
      onData: (stream, session, cb) => void this.guard(this.data(stream, session), cb),
      onClose: (session) => this.closed(session),
    };
  }

  /** Runs a handler, turning internal faults into a generic 451 so no detail reaches the wire. */
  private async guard<T>(work: Promise<T>, cb: (err: Error | null, value?: T) => void): Promise<void> {
    let result: T;
    try {
      result = await work;
    } catch (err) {
      if (err instanceof SmtpReplyError) return cb(err);
      this.log.error({ err }, 'internal error while handling a command');
      return cb(replies.localError());
    }
    cb(null, result);
  }

  private connect(session: SMTPServerSession): Error | undefined {
    const ip = session.remoteAddress;
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.policy.maxConnectionsPerIp) {
      this.log.warn({ event: 'connection_refused', remote: ip, reason: 'per-ip limit' }, 'connection refused');
      return replies.tooManyConnections();
    }
    this.perIp.set(ip, fromIp + 1);
    this.sessions.set(session.id, { remote: ip, startedAt: Date.now(), authFailures: 0, messages: 0, bytes: 0, refusedRcpts: 0 });
    // RFC 4954 4: PLAIN and LOGIN are not offered where the password would travel in the
    // clear; STARTTLS (onSecure) brings AUTH back.
    if (this.policy.kind === 'submission' && !session.secure && !this.plaintextAuthAllowed(session)) {
      session.disabledCommands = [...this.policy.disabledCommands, 'AUTH'];
    }
    return undefined;
  }

  private secured(socket: TLSSocket, session: SMTPServerSession): void {
    const stats = this.sessions.get(session.id);
    if (stats && typeof socket.getProtocol === 'function') {
      stats.tls = { protocol: socket.getProtocol() ?? 'TLS', cipher: socket.getCipher()?.name ?? 'unknown' };
    }
    if (this.policy.kind === 'submission') session.disabledCommands = [...this.policy.disabledCommands];
  }

  private closed(session: SMTPServerSession): void {
    const stats = this.sessions.get(session.id);
    if (!stats) return;
    this.sessions.delete(session.id);
    const left = (this.perIp.get(stats.remote) ?? 1) - 1;
    if (left <= 0) this.perIp.delete(stats.remote);
    else this.perIp.set(stats.remote, left);
    this.log.info(
      {
        event: 'session_end',
        session: session.id,
        remote: stats.remote,
        user: stats.user,
        tls: stats.tls?.protocol,
        messages: stats.messages,
        bytes: stats.bytes,
        refusedRcpts: stats.refusedRcpts,
        authFailures: stats.authFailures,
        durationMs: Date.now() - stats.startedAt,
        lastError: session.error,
      },
      'session end',
    );
  }

  private plaintextAuthAllowed(session: SMTPServerSession): boolean {
    return this.policy.plaintextAuthFrom(session.remoteAddress);
  }

  private async authenticate(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<SMTPServerAuthenticationResponse> {
    const stats = this.sessions.get(session.id);
    if (!session.secure && !this.plaintextAuthAllowed(session)) throw replies.tlsRequired();
    const username = auth.username ?? '';
    const password = auth.password ?? '';
    // Acting for another identity (a PLAIN authzid) is not supported.
    const proxying = auth.authzid !== undefined && auth.authzid !== '' && auth.authzid !== username;
    const result = proxying
      ? ({ ok: false, reason: 'invalid-name' } as const)
      : await this.deps.auth.verify(username, password, { remoteAddress: session.remoteAddress, secure: session.secure || this.plaintextAuthAllowed(session) });
    if (result.ok) {
      if (stats) stats.user = result.user;
      this.log.info({ event: 'auth_ok', session: session.id, user: result.user, method: auth.method }, 'authenticated');
      return { user: result.user };
    }
    const failures = stats ? ++stats.authFailures : 1;
    this.log.warn({ event: 'auth_failed', session: session.id, remote: session.remoteAddress, user: username, reason: result.reason, method: auth.method }, 'authentication failed');
    if (this.policy.authFailureDelayMs > 0) await sleep(this.policy.authFailureDelayMs);
    throw failures >= this.policy.maxAuthFailures ? replies.tooManyAuthFailures() : replies.authFailed();
  }

  private async mailFrom(_address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    // smtp-server also refuses MAIL before AUTH, but not while AUTH is withheld before STARTTLS.
    if (this.policy.kind === 'submission' && !session.user) throw replies.authRequired();
  }

  private async rcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    try {
      await this.checkRecipient(address.address, session);
    } catch (err) {
      const stats = this.sessions.get(session.id);
      if (stats) stats.refusedRcpts++;
      if (err instanceof SmtpReplyError) this.log.info({ event: 'rcpt_refused', session: session.id, rcpt: address.address, reply: err.message }, 'recipient refused');
      throw err;
    }
  }

  private async checkRecipient(address: string, session: SMTPServerSession): Promise<void> {
    const route = await this.deps.resolver.resolve(address);
    if (route.kind === 'unknown') throw replies.unknownRecipient();
    if (route.kind === 'remote') {
      if (this.policy.kind === 'submission' && session.user && this.deps.queue.canRelay) return;
      throw replies.relayDenied();
    }
    if (route.users.length === 0 && !this.deps.queue.canRelay) throw replies.unknownRecipient();
    // A declared SIZE lets a full mailbox be refused before the message is sent.
    const mailFrom = session.envelope.mailFrom;
    const declared = mailFrom && mailFrom.args && typeof mailFrom.args.SIZE === 'string' ? Number(mailFrom.args.SIZE) : 0;
    if (route.users.length === 1 && route.forward.length === 0) {
      const refusal = await this.deps.local.checkQuota(route.users[0] as string, declared);
      if (refusal) throw refusal;
    }
  }

  private async data(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string | SMTPServerDataResult[]> {
    const receivedAt = this.now();
    const id = `${session.id}.${session.transaction}`;
    this.busy.add(session.id);
    let spooled: SpooledMessage;
    try {
      spooled = await spool(stream, this.deps.spoolDir);
    } catch (err) {
      this.busy.delete(session.id);
      throw err;
    }
    try {
      // Over the size limit: smtp-server answers 552 5.3.4 itself (rejectOversized).
      if (spooled.oversized) {
        this.log.info({ event: 'message_refused', session: session.id, id, reason: 'oversized' }, 'message too big');
        return '';
      }
      const results = await this.store(session, spooled, id, receivedAt);
      const stats = this.sessions.get(session.id);
      if (stats && results.some((r) => r.outcome.ok)) {
        stats.messages++;
        stats.bytes += spooled.size;
      }
      this.log.info(
        {
          event: 'message_received',
          session: session.id,
          id,
          from: senderOf(session),
          size: spooled.size,
          rcpts: results.map((r) => ({ rcpt: r.address, reply: r.outcome.ok ? 'ok' : r.outcome.reply.message })),
        },
        'message received',
      );
      if (this.policy.kind === 'lmtp') {
        await this.settle(results, session, spooled, id, false);
        return results.map((r) => (r.outcome.ok ? `2.0.0 <${r.address}> Ok: delivered` : r.outcome.reply));
      }
      // Awaited here so that the spool file outlives the queueing in smtpReply.
      return await this.smtpReply(results, session, spooled, id);
    } finally {
      await spooled.remove();
      this.busy.delete(session.id);
    }
  }

  /**
   * Makes every copy: local maildrops (each fsynced before the answer), and one queue entry
   * for the smarthost. Routes are looked up again: the answer that holds is today's.
   */
  private async store(session: SMTPServerSession, spooled: SpooledMessage, id: string, receivedAt: Date): Promise<RecipientResult[]> {
    const from = senderOf(session);
    const rcpts = session.envelope.rcptTo.map((r) => r.address);
    const routes: Route[] = await Promise.all(rcpts.map((r) => this.deps.resolver.resolve(r)));
    const trace = (recipient?: string): string => receivedHeader(this.traceInfo(session, id, receivedAt, recipient));

    // Each maildrop gets one copy, even when several recipients lead to it.
    const copies = new Map<string, Promise<CopyOutcome>>();
    const remote: string[] = [];
    // Checked again as at RCPT: a domain that stopped being local since must not open a relay.
    const mayRelay = this.policy.kind === 'submission' && Boolean(session.user) && this.deps.queue.canRelay;
    rcpts.forEach((rcpt, i) => {
      const route = routes[i] as Route;
      if (route.kind === 'remote' && mayRelay) remote.push(rcpt);
      if (route.kind !== 'local') return;
      for (const user of route.users) {
        if (copies.has(user)) continue;
        const prefix = returnPathHeader(from) + trace(rcpt);
        const storedSize = spooled.storedSize + Buffer.byteLength(prefix) - (prefix.match(/\r\n/g)?.length ?? 0);
        // One at a time: each copy streams the spool file, and the disk is the bottleneck.
        const previous = [...copies.values()].at(-1) ?? Promise.resolve<CopyOutcome>({ ok: true });
        copies.set(
          user,
          previous.then(() => this.deps.local.deliver(user, () => spooled.open(prefix), storedSize, receivedAt)),
        );
      }
      if (this.deps.queue.canRelay) remote.push(...route.forward);
      else if (route.forward.length > 0) this.log.warn({ id, rcpt, forward: route.forward }, 'alias targets on other domains ignored: no smarthost');
    });
    const outcomes = new Map<string, CopyOutcome>();
    for (const [user, outcome] of copies) outcomes.set(user, await outcome);

    let relayed: CopyOutcome = { ok: true };
    const relayTo = [...new Set(remote)];
    if (relayTo.length > 0) {
      try {
        const entry = await this.deps.queue.enqueue(from, relayTo.map((address) => ({ address })), spooled.open(trace(relayTo.length === 1 ? relayTo[0] : undefined)));
        this.log.info({ id, queueId: entry.id, rcpts: relayTo }, 'queued for the smarthost');
      } catch (err) {
        this.log.error({ err, id }, 'could not queue for the smarthost');
        relayed = { ok: false, reply: replies.localError() };
      }
    }

    return rcpts.map((address, i) => {
      const route = routes[i] as Route;
      if (route.kind === 'unknown') return { address, outcome: { ok: false, reply: replies.unknownRecipient() }, failedTargets: [] };
      if (route.kind === 'remote') return { address, outcome: mayRelay ? relayed : { ok: false, reply: replies.relayDenied() }, failedTargets: [] };
      const parts: CopyOutcome[] = route.users.map((u) => outcomes.get(u) ?? { ok: true });
      if (route.forward.length > 0 && this.deps.queue.canRelay) parts.push(relayed);
      const failedTargets = route.users.flatMap((user) => {
        const o = outcomes.get(user);
        return o && !o.ok ? [{ user, reply: o.reply }] : [];
      });
      return { address, outcome: combine(parts), failedTargets };
    });
  }

  /** One reply for the whole SMTP transaction: 250 once every copy is stored or queued. */
  private async smtpReply(results: RecipientResult[], session: SMTPServerSession, spooled: SpooledMessage, id: string): Promise<string> {
    const failed = results.filter((r) => !r.outcome.ok);
    if (failed.length === results.length) {
      // Nothing was stored: the client keeps the message (a temporary reply first, so nothing is lost).
      const first = failed.find((r) => replyOf(r.outcome)?.temporary) ?? failed[0];
      throw replyOf(first?.outcome) ?? replies.localError();
    }
    // Something was stored, so what failed is ours now: retried from the queue or bounced.
    await this.settle(results, session, spooled, id, true);
    return failed.length === 0 && results.every((r) => r.failedTargets.length === 0) ? '2.0.0 Ok: delivered' : '2.0.0 Ok: delivered or queued';
  }

  /**
   * Copies that failed while others of the same message were stored: temporary failures
   * are queued for retry, permanent ones bounced. With `all`, whole recipients that failed
   * are included (SMTP); without, only alias targets (LMTP answers per recipient itself).
   */
  private async settle(results: RecipientResult[], session: SMTPServerSession, spooled: SpooledMessage, id: string, all: boolean): Promise<void> {
    const retry: { address: string; user: string }[] = [];
    const bounce: FailedRecipient[] = [];
    for (const r of results) {
      if (!all && !r.outcome.ok) continue;
      for (const t of r.failedTargets) {
        if (t.reply.temporary) retry.push({ address: r.address, user: t.user });
        else bounce.push({ address: r.address, status: t.reply.enhanced, diagnostic: `${t.reply.code} ${t.reply.message}` });
      }
      const reply = replyOf(r.outcome);
      // A failed recipient without maildrops of its own failed in the relay queue itself.
      if (all && reply && r.failedTargets.length === 0) {
        if (reply.temporary) throw reply;
        bounce.push({ address: r.address, status: reply.enhanced, diagnostic: `${reply.code} ${reply.message}` });
      }
    }
    const from = senderOf(session);
    if (retry.length > 0) {
      // If this fails the client gets a 451 and resends to everyone: duplicates, but no loss.
      await this.deps.queue.enqueue(from, retry, spooled.open(receivedHeader(this.traceInfo(session, id, this.now(), undefined))));
    }
    if (bounce.length > 0) await this.deps.queue.bounce(from, bounce, await readHeaderBlock(spooled.path), this.now());
  }

  private traceInfo(session: SMTPServerSession, id: string, date: Date, recipient: string | undefined): TraceInfo {
    const stats = this.sessions.get(session.id);
    const opening = (session.openingCommand || 'EHLO').toUpperCase();
    const protocol = transmissionProtocol(opening === 'HELO' || opening === 'LHLO' ? opening : 'EHLO', {
      utf8: session.envelope.smtpUtf8 === true,
      tls: session.secure,
      auth: Boolean(session.user),
    });
    return {
      helo: session.hostNameAppearsAs || undefined,
      remoteAddress: session.remoteAddress,
      hostname: this.policy.hostname,
      protocol,
      id,
      ...(stats?.tls ? { tls: stats.tls } : {}),
      ...(recipient !== undefined ? { recipient } : {}),
      date,
    };
  }
}

function senderOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}

/** A recipient with several targets (an alias) counts as stored when any copy was. */
function combine(outcomes: readonly CopyOutcome[]): CopyOutcome {
  if (outcomes.length === 0 || outcomes.some((o) => o.ok)) return { ok: true };
  const failures = outcomes as readonly { ok: false; reply: SmtpReplyError }[];
  return failures.find((f) => f.reply.temporary) ?? (failures[0] as CopyOutcome);
}

function replyOf(outcome: CopyOutcome | undefined): SmtpReplyError | undefined {
  return outcome && !outcome.ok ? outcome.reply : undefined;
}
