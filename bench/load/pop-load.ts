import type { LoadPool } from './pool.js';
import type { Endpoint } from './pop3-conn.js';
import type { Account, ChurnResult, ListingResult, RetrResult } from './tasks.js';

/**
 * The POP3 load of the scenarios (churn, RETR, listings), from whichever generator the run
 * has: the C one (bench/load/loadgen.c) when the machine can build it, else Node worker
 * threads. Idle sessions and SMTP always come from the worker threads (LoadPool tasks).
 */
export interface PopLoad {
  /** Said in the report: which generator produced the figures. */
  readonly description: string;
  /** Each client loops connect / USER / PASS / STAT / QUIT until the time or count is up. */
  churn(endpoint: Endpoint, clients: readonly Account[], durationMs: number, maxSessions: number): Promise<ChurnResult>;
  /** One connection per account, all at once, each RETRs messages 1..count in one session. */
  retr(endpoint: Endpoint, accounts: readonly Account[], count: number, timeoutMs: number): Promise<RetrResult[]>;
  /** One session: USER, PASS, STAT, UIDL, LIST, each timed. */
  listing(endpoint: Endpoint, account: Account): Promise<ListingResult>;
}

/** The Node fallback: the work is spread over the pool's threads. */
export class WorkerThreadLoad implements PopLoad {
  readonly description: string;

  constructor(private readonly pool: LoadPool) {
    this.description = `Node worker threads (${pool.size})`;
  }

  async churn(endpoint: Endpoint, clients: readonly Account[], durationMs: number, maxSessions: number): Promise<ChurnResult> {
    const threads = this.pool.size;
    const parts = await this.pool.all<ChurnResult>((i) => {
      const mine = clients.filter((_, n) => n % threads === i);
      return mine.length === 0 ? null : { kind: 'churn', endpoint, clients: mine, durationMs, maxSessions: Math.ceil(maxSessions / threads), resume: endpoint.tls };
    });
    return {
      sessions: parts.reduce((n, r) => n + r.sessions, 0),
      errors: parts.reduce((n, r) => n + r.errors, 0),
      firstError: parts.find((r) => r.firstError)?.firstError ?? null,
      resumed: parts.reduce((n, r) => n + r.resumed, 0),
      latenciesMs: parts.flatMap((r) => r.latenciesMs),
    };
  }

  retr(endpoint: Endpoint, accounts: readonly Account[], count: number, timeoutMs: number): Promise<RetrResult[]> {
    return Promise.all(accounts.map((account, i) => this.pool.run<RetrResult>(i, { kind: 'retr', endpoint, account, count, timeoutMs })));
  }

  listing(endpoint: Endpoint, account: Account): Promise<ListingResult> {
    return this.pool.run<ListingResult>(0, { kind: 'listing', endpoint, account });
  }
}
