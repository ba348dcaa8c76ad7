import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { SMTPServerAddress, SMTPServerAuthentication, SMTPServerAuthenticationResponse, SMTPServerDataResult, SMTPServerDataStream, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { AuthPolicy, LoginOutcome } from '../auth/policy.js';
import type { SaslMechanism } from '../auth/sasl/types.js';
import type { Authenticator } from '../auth/types.js';
import type { CopyOutcome, LocalDelivery } from './local-delivery.js';
import { lmtpReplies, planFanOut, recipientResults, settle, smtpVerdict, type RecipientResult, type Settlement } from './delivery-policy.js';
import type { OutboundQueue } from './queue/outbound-queue.js';
import type { RecipientResolver, Route } from './recipients.js';
import type { SmtpFaults, SmtpStage } from './faults.js';
import type { IntakeObserver } from './observer.js';
import { replies, SmtpReplyError } from './reply.js';
import { spool, type SpooledMessage } from './spool.js';
import { isNoSpace } from '../fs/errno.js';
import { deliveredToHeader, receivedHeader, returnPathHeader, transmissionProtocol, type TraceInfo } from './trace-headers.js';

export type IntakeKind = 'smtp' | 'lmtp' | 'submission';

/** What one listener enforces, built from the config (runtime.ts). */
export interface IntakePolicy {
  readonly kind: IntakeKind;
  readonly hostname: string;
  readonly maxConnectionsPerIp: number;
  readonly maxAuthFailures: number;
  /** RFC 6409 6.1: "strict" refuses a MAIL FROM the authenticated user does not own. */
  readonly senderLoginCheck: 'strict' | 'off';
  /** Whether a client at this address may AUTH without TLS (submission only). */
  readonly plaintextAuthFrom: (remoteAddress: string) => boolean;
  /** Commands off for every session of the listener (e.g. STARTTLS without certificates). */
  readonly disabledCommands: readonly string[];
}

export interface IntakeDeps {
  readonly auth: Authenticator;
  /** The failure budgets, delays and answer times shared with POP3. */
  readonly authPolicy: AuthPolicy;
  /** The shared XOAUTH2 mechanism (and its OAuth validator), when it is enabled. */
  readonly xoauth2?: SaslMechanism;
  readonly resolver: RecipientResolver;
  readonly local: LocalDelivery;
  readonly queue: OutboundQueue;
  /** Where DATA is received before the copies are made. */
  readonly spoolDir: string;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Told about sessions, logins and messages (metrics, the HTTP API's sessions and events). */
  readonly observer?: IntakeObserver;
  /** Replies to inject on purpose (the chaos switch); none in normal operation. */
  readonly faults?: SmtpFaults;
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
    /** Told when a session has authenticated (the listener's login deadline ends). */
    private readonly hooks: { readonly loggedIn?: (session: SMTPServerSession) => void } = {},
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
    this.deps.observer?.sessionStarted({ listener: this.policy.kind, session: session.id, remote: ip });
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
    this.deps.observer?.sessionEnded({ listener: this.policy.kind, session: session.id, remote: stats.remote, user: stats.user ?? null });
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

  /**
   * AUTH PLAIN, LOGIN and XOAUTH2, as smtp-server hands them over, through the same
   * AuthPolicy as POP3: one budget per address, one delay per user, one answer time.
   */
  private async authenticate(auth: SMTPServerAuthentication, session: SMTPServerSession): Promise<SMTPServerAuthenticationResponse> {
    const stats = this.sessions.get(session.id);
    if (!session.secure && !this.plaintextAuthAllowed(session)) throw replies.tlsRequired();
    const secure = session.secure || this.plaintextAuthAllowed(session);
    const attempt = this.deps.authPolicy.begin({ protocol: 'submission', remoteAddress: session.remoteAddress, secure });
    const username = auth.username ?? '';
    let oauthError: Buffer | undefined;
    let outcome: LoginOutcome = { ok: false, user: username, reason: 'blocked' };
    if (!attempt.blocked) {
      if (auth.method === 'XOAUTH2') {
        const checked = await this.checkXoauth2(username, auth.accessToken ?? '', secure);
        outcome = checked.outcome;
        oauthError = checked.error;
      } else {
        outcome = await this.checkPassword(auth, username, secure);
      }
    }
    const verdict = await attempt.finish(outcome);
    this.deps.observer?.authAttempt({ listener: this.policy.kind, session: session.id, remote: session.remoteAddress, mechanism: auth.method, user: username, result: verdict.kind === 'ok' ? 'success' : verdict.kind === 'failed' ? 'failure' : 'blocked' });
    if (verdict.kind === 'ok') {
      if (stats) stats.user = verdict.user;
      this.hooks.loggedIn?.(session);
      this.log.info({ event: 'auth_ok', session: session.id, user: verdict.user, method: auth.method }, 'authenticated');
      return { user: verdict.user };
    }
    if (verdict.kind === 'blocked') {
      this.log.warn({ event: 'auth_blocked', session: session.id, remote: session.remoteAddress, user: username, method: auth.method }, 'login refused: address blocked after too many failures');
      throw replies.authBlocked();
    }
    const failures = stats ? ++stats.authFailures : 1;
    this.log.warn({ event: 'auth_failed', session: session.id, remote: session.remoteAddress, user: username, reason: verdict.reason, method: auth.method }, 'authentication failed');
    if (failures >= this.policy.maxAuthFailures) throw replies.tooManyAuthFailures();
    // XOAUTH2 clients expect the error as a 334 JSON challenge, then 535 (smtp-server sends it).
    if (oauthError) return { data: JSON.parse(oauthError.toString('utf8')) as object };
    throw replies.authFailed();
  }

  private async checkPassword(auth: SMTPServerAuthentication, username: string, secure: boolean): Promise<LoginOutcome> {
    // Acting for another identity (a PLAIN authzid) is not supported.
    if (auth.authzid !== undefined && auth.authzid !== '' && auth.authzid !== username) return { ok: false, user: username, reason: 'authzid differs' };
    const result = await this.deps.auth.verify(username, auth.password ?? '', { remoteAddress: '', secure });
    return result.ok ? result : { ok: false, user: username, reason: result.reason };
  }

  /** The shared XOAUTH2 mechanism, fed the message smtp-server took apart. */
  private async checkXoauth2(username: string, token: string, secure: boolean): Promise<{ outcome: LoginOutcome; error?: Buffer }> {
    const mechanism = this.deps.xoauth2;
    if (!mechanism) return { outcome: { ok: false, user: username, reason: 'XOAUTH2 not enabled' } };
    const step = await mechanism.start({ remoteAddress: '', secure }).step(Buffer.from(`user=${username}\x01auth=Bearer ${token}\x01\x01`, 'utf8'));
    if (step.kind === 'success') return { outcome: { ok: true, user: step.user } };
    if (step.kind === 'failure') {
      if (step.temporary) throw new Error(`XOAUTH2 could not be checked: ${step.reason}`);
      return { outcome: { ok: false, user: username, reason: step.reason } };
    }
    return { outcome: { ok: false, user: username, reason: 'XOAUTH2 token refused' }, error: step.data };
  }

  /** Throws the reply the chaos switch chose for this stage, if any. */
  private injectFault(stage: SmtpStage, session: SMTPServerSession): void {
    const fault = this.deps.faults?.reply(stage, this.policy.kind);
    if (!fault) return;
    this.log.info({ event: 'chaos', session: session.id, stage, code: fault.code }, 'injected fault');
    throw fault;
  }

  private async mailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    this.injectFault('mail', session);
    if (this.policy.kind !== 'submission') return;
    // smtp-server also refuses MAIL before AUTH, but not while AUTH is withheld before STARTTLS.
    const user = session.user;
    if (typeof user !== 'string' || user === '') throw replies.authRequired();
    if (this.policy.senderLoginCheck === 'strict' && !(await this.ownsSender(user, address.address))) {
      this.log.warn({ event: 'sender_refused', session: session.id, user, from: address.address }, 'sender address not owned by the authenticated user');
      throw replies.senderNotOwned();
    }
  }

  /**
   * RFC 6409 6.1: the user's own addresses are those that deliver to the user alone (the
   * name at a local domain, an address-form name, an alias whose only target is the user).
   * The null sender is let through, as Postfix does: it carries no identity to forge.
   */
  private async ownsSender(user: string, sender: string): Promise<boolean> {
    if (sender === '') return true;
    const route = await this.deps.resolver.resolve(sender);
    return route.kind === 'local' && route.forward.length === 0 && route.users.length === 1 && route.users[0] === user;
  }

  private async rcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    this.injectFault('rcpt', session);
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
      // RFC 3463 4.3.1: the sender keeps the message and tries again once space is freed.
      if (isNoSpace(err)) {
        this.log.warn({ err, session: session.id, id }, 'message not spooled: disk full');
        throw replies.storageFull();
      }
      throw err;
    }
    try {
      // Over the size limit: smtp-server answers 552 5.3.4 itself (rejectOversized).
      if (spooled.oversized) {
        this.log.info({ event: 'message_refused', session: session.id, id, reason: 'oversized' }, 'message too big');
        this.deps.observer?.messageReceived({ listener: this.policy.kind, accepted: false, bytes: spooled.size });
        return '';
      }
      this.injectFault('data', session);
      const results = await this.store(session, spooled, id, receivedAt);
      const stats = this.sessions.get(session.id);
      this.deps.observer?.messageReceived({ listener: this.policy.kind, accepted: results.some((r) => r.outcome.ok), bytes: spooled.size });
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
        await this.carryOut(settle(results, false), session, spooled, id);
        return lmtpReplies(results);
      }
      const verdict = smtpVerdict(results);
      if (verdict.kind === 'refuse') throw verdict.reply;
      // Awaited here so that the spool file outlives the queueing.
      await this.carryOut(verdict.settlement, session, spooled, id);
      return verdict.text;
    } finally {
      await spooled.remove();
      this.busy.delete(session.id);
    }
  }

  /**
   * Makes every copy (delivery-policy.ts decides which): local maildrops, each fsynced before
   * the answer, and one queue entry for the smarthost. Routes are looked up again: the answer
   * that holds is today's.
   */
  private async store(session: SMTPServerSession, spooled: SpooledMessage, id: string, receivedAt: Date): Promise<RecipientResult[]> {
    const from = senderOf(session);
    const rcpts = session.envelope.rcptTo.map((r) => r.address);
    const routes: Route[] = await Promise.all(rcpts.map((r) => this.deps.resolver.resolve(r)));
    const trace = (recipient?: string): string => receivedHeader(this.traceInfo(session, id, receivedAt, recipient));
    const rights = { mayRelay: this.policy.kind === 'submission' && Boolean(session.user) && this.deps.queue.canRelay, canRelay: this.deps.queue.canRelay };
    const plan = planFanOut(rcpts, routes, rights);
    for (const { rcpt, forward } of plan.dropped) this.log.warn({ id, rcpt, forward }, 'alias targets on other domains ignored: no smarthost');

    const outcomes = new Map<string, CopyOutcome>();
    // One at a time: each copy streams the spool file, and the disk is the bottleneck.
    for (const { user, rcpt } of plan.copies) {
      const prefix = returnPathHeader(from) + deliveredToHeader(rcpt) + trace(rcpt);
      const storedSize = spooled.storedSize + Buffer.byteLength(prefix) - (prefix.match(/\r\n/g)?.length ?? 0);
      outcomes.set(user, await this.deps.local.deliver(user, () => spooled.open(''), prefix, storedSize, receivedAt));
    }

    let relayed: CopyOutcome = { ok: true };
    const relayTo = plan.relayTo;
    if (relayTo.length > 0) {
      try {
        const entry = await this.deps.queue.enqueue(from, relayTo.map((address) => ({ address })), spooled.open(trace(relayTo.length === 1 ? relayTo[0] : undefined)));
        this.log.info({ id, queueId: entry.id, rcpts: relayTo }, 'queued for the smarthost');
      } catch (err) {
        this.log.error({ err, id }, 'could not queue for the smarthost');
        relayed = { ok: false, reply: replies.localError() };
      }
    }
    return recipientResults(rcpts, routes, outcomes, relayed, rights);
  }

  /** Queues what must be retried and bounces what cannot be delivered (see Settlement). */
  private async carryOut(settlement: Settlement, session: SMTPServerSession, spooled: SpooledMessage, id: string): Promise<void> {
    if (settlement.resend) throw settlement.resend;
    const from = senderOf(session);
    if (settlement.retry.length > 0) {
      // If this fails the client gets a 451 and resends to everyone: duplicates, but no loss.
      await this.deps.queue.enqueue(from, settlement.retry, spooled.open(receivedHeader(this.traceInfo(session, id, this.now(), undefined))));
    }
    if (settlement.bounce.length > 0) await this.deps.queue.bounce(from, settlement.bounce, await spooled.header(), this.now());
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
      ...(typeof session.user === 'string' && session.user !== '' ? { authenticatedAs: session.user } : {}),
      ...(recipient !== undefined ? { recipient } : {}),
      date,
    };
  }
}

function senderOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}
