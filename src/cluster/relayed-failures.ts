import { FailureLimiter, type FailureLimits } from '../auth/failure-limiter.js';

/**
 * A worker's failure budget, kept in step with the other workers': every failure counted
 * here is also sent to the main process, which passes it on to the others (recordRelayed).
 * Without it each worker would grant its own budget and guessing would get N times as many
 * tries. A relayed failure arrives a moment later, so the budget is shared, not exact.
 */
export class RelayedFailureLimiter extends FailureLimiter {
  constructor(
    limits: FailureLimits,
    private readonly relay: (ip: string, user?: string) => void,
  ) {
    super(limits);
  }

  override record(ip: string, user?: string): void {
    super.record(ip, user);
    this.relay(ip, user);
  }

  /** A failure another worker counted. */
  recordRelayed(ip: string, user?: string): void {
    super.record(ip, user);
  }
}
