import { isIPv6 } from 'node:net';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { Logger } from 'pino';
import { plainAddress } from '../net/trusted-networks.js';

/**
 * One authentication and abuse policy for every listener (POP3, submission, HTTP): what a
 * failed login costs the address and the user it named, when an address is blocked, and
 * when each answer goes out. The protocols verify credentials their own way (a password, a
 * SASL exchange, a token) and hand the outcome to a LoginAttempt; the attempt decides the
 * verdict and how long to wait before it may be told.
 *
 * - Per address: every failure in the window makes the next failure's answer later (1 s,
 *   2 s, 4 s ... up to maxUserDelayMs), and after maxFailuresPerIp the address is blocked
 *   for the window: its attempts are refused unchecked.
 * - Per user name: failures make attempts from addresses that have never logged in as that
 *   user wait (the same growth, capped at maxUserDelayMs) before any answer, success or not.
 *   An address that has logged in as the user before does not wait, so the right password
 *   always gets in unless the address itself is blocked: there is no lock-out by user.
 * - Every failure is answered failureResponseMs (plus the address's delay) after the attempt
 *   began, whatever the stored scheme or whether the user exists.
 *
 * In memory: a restart forgets. Several processes keep in step by passing AuthEvents
 * (onEvent out, apply in); a relayed event arrives a moment later, so sharing is close, not
 * exact.
 */
export interface AuthPolicySettings {
  /** The sliding window failures are counted in, and how long a blocked address stays so. */
  readonly windowMs: number;
  /** Failures from one address in the window before it is blocked. */
  readonly maxFailuresPerIp: number;
  /** Cap of the growing delays (per user, and per address before the block). */
  readonly maxUserDelayMs: number;
  /** The earliest a failed login is answered, counted from the attempt's start. */
  readonly failureResponseMs: number;
  /** The first step of the growing delays; it doubles per failure. Default 1000. */
  readonly delayStepMs?: number;
  /** Addresses and user names remembered at most; the oldest are forgotten first. Default 100,000. */
  readonly maxEntries?: number;
}

/** Where an attempt comes from; `protocol` is for logs ("pop3", "submission", "http"). */
export interface LoginContext {
  readonly protocol: string;
  readonly remoteAddress: string;
  /** TLS or a trusted network: for the callers' own rules; the policy treats both alike. */
  readonly secure: boolean;
}

/** What the credentials came to, as the protocol's check saw it. */
export type LoginOutcome =
  | { readonly ok: true; /** canonical user name */ readonly user: string }
  | { readonly ok: false; /** the name the client claimed, if any */ readonly user?: string | undefined; /** for logs only */ readonly reason: string };

export type LoginVerdict =
  | { readonly kind: 'ok'; readonly user: string }
  | { readonly kind: 'failed'; readonly reason: string }
  /** The address is blocked: nothing was checked. */
  | { readonly kind: 'blocked' };

/** What one process tells the others so that budgets and known addresses are shared. */
export type AuthEvent =
  | {
      readonly kind: 'failure';
      readonly address: string;
      readonly user?: string;
      /** For the recent-failures list: the listener, the plain address, the name as typed, when (ms). */
      readonly seen?: { readonly protocol: string; readonly remote: string; readonly typed: string | null; readonly at: number };
    }
  | { readonly kind: 'login'; readonly address: string; readonly user: string };

export interface AuthPolicyDeps {
  readonly now?: () => number;
  /** Waits before an answer; tests pass one that records instead of sleeping. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Told of every failure and login counted here (not of applied ones). */
  readonly onEvent?: (event: AuthEvent) => void;
  readonly logger?: Logger;
}

/** Addresses remembered per user as having logged in; the oldest are forgotten first. */
const KNOWN_PER_USER = 32;

/**
 * A login from an address already known for the user is told to the other processes again
 * only after this long: they know it already (a POP3 worker relaying every login sent two
 * IPC messages per session), but one started since, or one that forgot it, learns it again.
 */
const RESHARE_KNOWN_MS = 5 * 60_000;

/** Failed logins kept for the console, newest last; older ones are dropped. */
export const RECENT_FAILURES = 100;

/** One failed (or blocked) login, as the administrator sees it. */
export interface FailedLogin {
  readonly at: Date;
  /** The client's address as its socket gave it. */
  readonly address: string;
  /** The user name as the client typed it (not normalised), or null when none was given. */
  readonly user: string | null;
  /** Where it came in: pop3, smtp (submission) or http. */
  readonly door: string;
  readonly blocked: boolean;
}

export class AuthPolicy {
  private readonly byAddress = new Map<string, number[]>();
  private readonly byUser = new Map<string, number[]>();
  /** User -> address -> when the other processes last heard of that login (ms). */
  private readonly known = new Map<string, Map<string, number>>();
  /** A bounded ring: `failures[next]` is the oldest once it has filled. */
  private readonly failures: FailedLogin[] = [];
  private nextFailure = 0;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private warnedSlow = false;

  constructor(
    readonly settings: AuthPolicySettings,
    private readonly deps: AuthPolicyDeps = {},
  ) {
    this.now = deps.now ?? Date.now;
    this.sleep = deps.sleep ?? ((ms) => sleepFor(ms));
  }

  /**
   * Starts an attempt: the clock for its answer runs from here. When `blocked` is true the
   * caller checks nothing and calls finish() with any outcome; the verdict is 'blocked'.
   */
  begin(ctx: LoginContext): LoginAttempt {
    return new LoginAttempt(this, ctx, this.now(), this.isBlocked(ctx.remoteAddress));
  }

  /** begin + check + finish, for protocols whose check is one call (USER/PASS, HTTP basic). */
  async verify(ctx: LoginContext, check: () => Promise<LoginOutcome>): Promise<LoginVerdict> {
    const attempt = this.begin(ctx);
    if (attempt.blocked) return attempt.finish({ ok: false, reason: 'blocked' });
    return attempt.finish(await check());
  }

  /** Whether attempts from this address are refused unchecked now. */
  isBlocked(remoteAddress: string): boolean {
    return this.count(this.byAddress, addressKey(remoteAddress)) >= this.settings.maxFailuresPerIp;
  }

  /** Whether this address has logged in as this user (since the process started). */
  isKnown(remoteAddress: string, user: string): boolean {
    return this.known.get(userKey(user))?.has(addressKey(remoteAddress)) ?? false;
  }

  /** The wait an attempt for `user` from this address has before any answer. */
  userDelayMs(remoteAddress: string, user: string): number {
    if (this.isKnown(remoteAddress, user)) return 0;
    return this.growth(this.count(this.byUser, userKey(user)));
  }

  /** The extra wait of a failure from this address, on top of failureResponseMs. */
  addressDelayMs(remoteAddress: string): number {
    return this.growth(this.count(this.byAddress, addressKey(remoteAddress)));
  }

  /** An event another process counted. */
  apply(event: AuthEvent): void {
    if (event.kind === 'failure') {
      this.recordFailure(event.address, event.user);
      const seen = event.seen;
      if (seen) this.remember(seen.protocol, seen.remote, seen.typed ?? undefined, seen.at, false);
    } else this.recordLogin(event.address, event.user, this.now());
  }

  /** The last RECENT_FAILURES failed or blocked logins of every listener, newest first. */
  recentFailures(): FailedLogin[] {
    const n = this.failures.length;
    const out: FailedLogin[] = [];
    for (let i = 1; i <= n; i++) out.push(this.failures[(this.nextFailure - i + n) % n] as FailedLogin);
    return out;
  }

  private remember(protocol: string, address: string, user: string | undefined, at: number, blocked: boolean): void {
    const door = protocol === 'submission' ? 'smtp' : protocol;
    const entry: FailedLogin = { at: new Date(at), address: plainAddress(address), user: user === undefined || user === '' ? null : user, door, blocked };
    if (this.failures.length < RECENT_FAILURES) this.failures.push(entry);
    else this.failures[this.nextFailure] = entry;
    this.nextFailure = (this.nextFailure + 1) % RECENT_FAILURES;
  }

  /** @internal the attempt's end: waits as the policy says, records, and gives the verdict. */
  async settle(attempt: LoginAttempt, outcome: LoginOutcome): Promise<LoginVerdict> {
    const address = attempt.ctx.remoteAddress;
    if (attempt.blocked) {
      this.remember(attempt.ctx.protocol, address, outcome.user, attempt.startedAt, true);
      await this.waitUntil(attempt.startedAt + this.settings.failureResponseMs);
      return { kind: 'blocked' };
    }
    const user = outcome.user;
    const userWait = user !== undefined && user !== '' ? this.userDelayMs(address, user) : 0;
    if (outcome.ok) {
      await this.waitUntil(attempt.startedAt + userWait);
      const sharedAt = this.known.get(userKey(outcome.user))?.get(addressKey(address));
      const share = sharedAt === undefined || this.now() - sharedAt >= RESHARE_KNOWN_MS;
      this.recordLogin(address, outcome.user, share ? this.now() : sharedAt);
      if (share) this.deps.onEvent?.({ kind: 'login', address: addressKey(address), user: userKey(outcome.user) });
      return { kind: 'ok', user: outcome.user };
    }
    const due = attempt.startedAt + this.settings.failureResponseMs + this.addressDelayMs(address) + userWait;
    const named = user !== undefined && user !== '' ? user : undefined;
    this.recordFailure(address, named);
    this.remember(attempt.ctx.protocol, address, named, attempt.startedAt, false);
    this.deps.onEvent?.({
      kind: 'failure',
      address: addressKey(address),
      ...(named !== undefined ? { user: userKey(named) } : {}),
      seen: { protocol: attempt.ctx.protocol, remote: plainAddress(address), typed: named ?? null, at: attempt.startedAt },
    });
    if (this.now() - attempt.startedAt > this.settings.failureResponseMs && !this.warnedSlow) {
      // The floor no longer hides how long the check took: raise failure_response_ms.
      this.warnedSlow = true;
      this.deps.logger?.warn({ event: 'auth_floor_exceeded', protocol: attempt.ctx.protocol, elapsedMs: this.now() - attempt.startedAt }, 'a failed login took longer than auth.failure_response_ms');
    }
    await this.waitUntil(due);
    return { kind: 'failed', reason: outcome.reason };
  }

  private async waitUntil(at: number): Promise<void> {
    const ms = at - this.now();
    if (ms > 0) await this.sleep(ms);
  }

  private growth(failures: number): number {
    if (failures <= 0) return 0;
    const step = this.settings.delayStepMs ?? 1000;
    // 2^30 steps is far past any cap; the exponent is bounded so the number stays finite.
    return Math.min(this.settings.maxUserDelayMs, step * 2 ** Math.min(failures - 1, 30));
  }

  private recordFailure(address: string, user: string | undefined): void {
    this.add(this.byAddress, addressKey(address), this.settings.maxFailuresPerIp);
    // Enough to reach the cap: 2^n steps, so about 40 at most matter.
    if (user !== undefined) this.add(this.byUser, userKey(user), 64);
  }

  /** `sharedAt`: when the other processes last heard of this login (now, when they just did). */
  private recordLogin(address: string, user: string, sharedAt: number): void {
    const key = userKey(user);
    const addresses = this.known.get(key) ?? new Map<string, number>();
    const a = addressKey(address);
    addresses.delete(a);
    addresses.set(a, sharedAt);
    while (addresses.size > KNOWN_PER_USER) addresses.delete(addresses.keys().next().value as string);
    this.known.delete(key);
    this.known.set(key, addresses);
    this.trim(this.known);
  }

  private count(map: Map<string, number[]>, key: string): number {
    const times = map.get(key);
    if (!times) return 0;
    const since = this.now() - this.settings.windowMs;
    while (times.length > 0 && (times[0] as number) <= since) times.shift();
    if (times.length === 0) map.delete(key);
    return times.length;
  }

  private add(map: Map<string, number[]>, key: string, keep: number): void {
    this.count(map, key);
    const times = map.get(key) ?? [];
    times.push(this.now());
    // Only the newest `keep` matter for any decision; older ones would only use memory.
    if (times.length > keep) times.splice(0, times.length - keep);
    map.delete(key);
    map.set(key, times);
    this.trim(map);
  }

  private trim(map: Map<string, unknown>): void {
    const cap = this.settings.maxEntries ?? 100_000;
    while (map.size > cap) map.delete(map.keys().next().value as string);
  }
}

/** One login attempt, from its first command to its answer. */
export class LoginAttempt {
  private done = false;

  constructor(
    private readonly policy: AuthPolicy,
    readonly ctx: LoginContext,
    readonly startedAt: number,
    /** The address is blocked: check nothing, finish() says 'blocked'. */
    readonly blocked: boolean,
  ) {}

  /**
   * Records the outcome and resolves with the verdict once it may be told: at once for
   * the right password from a known address, after the user's delay from a new one, and
   * for a failure after failureResponseMs plus the address's and the user's delays.
   */
  finish(outcome: LoginOutcome): Promise<LoginVerdict> {
    if (this.done) throw new Error('login attempt finished twice');
    this.done = true;
    return this.policy.settle(this, outcome);
  }
}

/**
 * The unit addresses are counted in: an IPv4 address, or an IPv6 /64 (one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would count nothing).
 */
export function addressKey(remoteAddress: string): string {
  const plain = plainAddress(remoteAddress);
  if (!isIPv6(plain)) return plain;
  const groups = expandIPv6(plain);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const missing = 8 - left.length - right.length;
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(missing, 0)).fill('0'), ...right];
  return groups.map((g) => (g.includes('.') ? g : (parseInt(g, 16) || 0).toString(16)));
}

function userKey(user: string): string {
  return user.toLowerCase();
}
