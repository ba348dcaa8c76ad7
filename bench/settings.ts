/** Sizes of one run. The full run follows the issue; --quick shrinks it to under a minute. */
export interface Settings {
  readonly mode: 'full' | 'quick';
  /** Load-generator threads. */
  readonly threads: number;
  readonly churnClients: number;
  readonly churnSeconds: number;
  /** Unmeasured sessions first, so both servers are measured warm (JIT, caches, processes). */
  readonly warmupSeconds: number;
  /** Sessions per churn run at most, whatever the time: a bound, not a target. */
  readonly churnMaxSessions: number;
  readonly churnMessages: number;
  readonly smallMessageSize: number;
  readonly bulkMessages: number;
  readonly bulkMessageSize: number;
  readonly bulkClients: number;
  readonly bigMessages: number;
  readonly bigMessageSize: number;
  readonly largeMessageSize: number;
  readonly idleSessions: number;
  readonly idleProbes: number;
  readonly smtpSenders: number;
  readonly smtpSeconds: number;
  readonly smtpMessageSize: number;
  /** Rounds per server of the churn scenarios (their time is split between the rounds). */
  readonly rounds: number;
  /** Rounds per server of bulk_retr and large_message (each figure: the median). */
  readonly throughputRounds: number;
  /** Unmeasured RETRs of the large message first (each postel worker must have served one). */
  readonly largeWarmups: number;
  /** Pause before memory is read, so forked processes, timers and garbage settle. */
  readonly settleMs: number;
}

export const FULL: Settings = {
  mode: 'full',
  threads: 2,
  churnClients: 32,
  churnSeconds: 10,
  warmupSeconds: 1,
  churnMaxSessions: 200_000,
  churnMessages: 10,
  smallMessageSize: 2_000,
  bulkMessages: 2_000,
  bulkMessageSize: 50_000,
  bulkClients: 8,
  bigMessages: 100_000,
  bigMessageSize: 1_500,
  largeMessageSize: 200_000_000,
  idleSessions: 10_000,
  idleProbes: 20,
  smtpSenders: 16,
  smtpSeconds: 10,
  smtpMessageSize: 10_000,
  rounds: 2,
  throughputRounds: 3,
  largeWarmups: 4,
  settleMs: 3000,
};

/** large_message's size in a full run with --store postgres (1 GB, as issue 11 asks the store to stream). */
export const POSTGRES_LARGE_MESSAGE = 1_000_000_000;

export const QUICK: Settings = {
  ...FULL,
  mode: 'quick',
  churnSeconds: 2,
  warmupSeconds: 0.5,
  bulkMessages: 500,
  bigMessages: 10_000,
  largeMessageSize: 50_000_000,
  idleSessions: 500,
  idleProbes: 5,
  smtpSeconds: 2,
  rounds: 1,
  throughputRounds: 1,
  largeWarmups: 2,
  settleMs: 500,
};
