export interface FailureLimits {
  /** The sliding window failures are counted in. */
  readonly windowMs: number;
  /** Failures from one address in the window before its attempts are refused unchecked. */
  readonly maxPerIp: number;
  /** Failures for one user name in the window before its attempts are refused unchecked. */
  readonly maxPerUser: number;
  /** Addresses and names remembered at most; the oldest are forgotten first. */
  readonly maxEntries?: number;
}

/**
 * A budget of failed logins per address and per user name. Once spent, further attempts are
 * refused without checking the password, so guessing gets no answers and costs us no hashes.
 * In memory, per process: a restart forgives, which is acceptable for a brake on guessing.
 */
export class FailureLimiter {
  private readonly byIp = new Map<string, number[]>();
  private readonly byUser = new Map<string, number[]>();

  constructor(
    private readonly limits: FailureLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Which budget is spent for this attempt, if any. */
  blocked(ip: string, user?: string): 'ip' | 'user' | null {
    if (this.count(this.byIp, ip) >= this.limits.maxPerIp) return 'ip';
    if (user !== undefined && this.count(this.byUser, user.toLowerCase()) >= this.limits.maxPerUser) return 'user';
    return null;
  }

  record(ip: string, user?: string): void {
    this.add(this.byIp, ip, this.limits.maxPerIp);
    if (user !== undefined) this.add(this.byUser, user.toLowerCase(), this.limits.maxPerUser);
  }

  private count(map: Map<string, number[]>, key: string): number {
    const times = map.get(key);
    if (!times) return 0;
    const since = this.now() - this.limits.windowMs;
    while (times.length > 0 && (times[0] as number) <= since) times.shift();
    if (times.length === 0) map.delete(key);
    return times.length;
  }

  private add(map: Map<string, number[]>, key: string, max: number): void {
    this.count(map, key);
    const times = map.get(key) ?? [];
    times.push(this.now());
    // Only the newest `max` matter for the decision; older ones would only use memory.
    if (times.length > max) times.splice(0, times.length - max);
    map.delete(key);
    map.set(key, times);
    const cap = this.limits.maxEntries ?? 100_000;
    while (map.size > cap) map.delete(map.keys().next().value as string);
  }
}
