import type { AuthPolicy, LoginOutcome } from '../auth/policy.js';
import type { Authenticator } from '../auth/types.js';
import type { EventBus } from '../events/bus.js';
import type { Logger } from '../log/logger.js';
import type { Metrics } from '../metrics/metrics.js';

export type HttpLoginResult = { readonly ok: true; readonly user: string } | { readonly ok: false; readonly blocked: boolean };

export interface HttpLoginDeps {
  readonly auth: Authenticator;
  /** The one AuthPolicy of POP3 and submission: HTTP logins spend the same budgets. */
  readonly authPolicy: AuthPolicy;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly events?: EventBus;
}

/**
 * HTTP logins (Basic with a user's password, Bearer with the admin token) through the
 * AuthPolicy every listener shares: the same address and user budgets, delays and answer
 * times as POP3 and submission; counted and published like theirs.
 */
export class HttpLogin {
  constructor(private readonly deps: HttpLoginDeps) {}

  /** HTTP Basic: the user's own POP3 password. */
  basic(user: string, password: string, remote: string, secure: boolean): Promise<HttpLoginResult> {
    return this.run('BASIC', remote, secure, async () => {
      const result = await this.deps.auth.verify(user, password, { remoteAddress: remote, secure });
      return result.ok ? result : { ok: false, user, reason: result.reason };
    });
  }

  /**
   * Bearer: the admin token, compared by the caller (`matches`). A blocked address is refused
   * even with the right token; a right token is not a user login the policy would remember.
   */
  bearer(matches: boolean, remote: string, secure: boolean): Promise<HttpLoginResult> {
    return this.run('BEARER', remote, secure, async () => ({ ok: false, reason: 'wrong admin token' }), matches);
  }

  private async run(mechanism: string, remote: string, secure: boolean, check: () => Promise<LoginOutcome>, admin = false): Promise<HttpLoginResult> {
    const { authPolicy, metrics, events, logger } = this.deps;
    const attempt = authPolicy.begin({ protocol: 'http', remoteAddress: remote, secure });
    if (admin && !attempt.blocked) {
      metrics?.authAttempt('http', mechanism, 'success');
      return { ok: true, user: '' };
    }
    const outcome: LoginOutcome = attempt.blocked ? { ok: false, reason: 'blocked' } : await check();
    const claimed = outcome.user;
    const verdict = await attempt.finish(outcome);
    if (verdict.kind === 'ok') {
      metrics?.authAttempt('http', mechanism, 'success');
      return { ok: true, user: verdict.user };
    }
    const blocked = verdict.kind === 'blocked';
    metrics?.authAttempt('http', mechanism, blocked ? 'blocked' : 'failure');
    events?.publish({ type: 'login.failed', protocol: 'http', user: claimed ?? null, remote, mechanism });
    logger.warn({ event: blocked ? 'auth_blocked' : 'auth_failed', protocol: 'http', user: claimed ?? null, remote, mechanism, ...(verdict.kind === 'failed' ? { reason: verdict.reason } : {}) }, blocked ? 'login refused: address blocked after too many failures' : 'authentication failed');
    return { ok: false, blocked };
  }
}
