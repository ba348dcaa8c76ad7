import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { CountedCounter, CountedHistogram } from './counted.js';

export type AuthProtocol = 'pop3' | 'smtp' | 'http';
export type AuthResultLabel = 'success' | 'failure' | 'blocked';

/** Seconds buckets for POP3 commands and store operations: sub-millisecond to seconds. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * Every series postel exports, in one prom-client registry per process. The names follow
 * Prometheus conventions (`_total` counters, `_seconds`, `_bytes`); README.md lists them.
 * The labelled series are counted in plain numbers (counted.ts) and handed to prom-client
 * when scraped: recording a POP3 command costs about 0.1 us, not the 0.8 us of prom-client's
 * label lookups (scripts/metrics-cost.mjs measures it). Record through the methods below.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly pop3Connections = new Counter({ name: 'postel_pop3_connections_total', help: 'POP3 connections accepted', registers: [this.registry] });
  readonly pop3ActiveSessions = new Gauge({ name: 'postel_pop3_active_sessions', help: 'POP3 sessions open now', registers: [this.registry] });
  private readonly pop3Commands = new CountedCounter({
    name: 'postel_pop3_commands_total',
    help: 'POP3 commands answered, by verb and result (ok or err)',
    labelNames: ['command', 'result'] as const,
    registers: [this.registry],
  });
  private readonly pop3CommandDuration = new CountedHistogram({
    name: 'postel_pop3_command_duration_seconds',
    help: 'Time from reading a POP3 command to the end of its answer',
    labelNames: ['command'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  readonly pop3RetrBytes = new Counter({ name: 'postel_pop3_retr_bytes_total', help: 'Message octets sent by RETR', registers: [this.registry] });
  readonly pop3LockConflicts = new Counter({ name: 'postel_pop3_lock_conflicts_total', help: 'Logins refused because the maildrop was locked ([IN-USE])', registers: [this.registry] });
  private readonly authAttempts = new CountedCounter({
    name: 'postel_auth_attempts_total',
    help: 'Login attempts by protocol, mechanism and result (success, failure, blocked by the failure budget)',
    labelNames: ['protocol', 'mechanism', 'result'] as const,
    registers: [this.registry],
  });
  private readonly smtpMessages = new CountedCounter({
    name: 'postel_smtp_messages_total',
    help: 'Messages received over SMTP, LMTP and submission, by listener and result (accepted or rejected)',
    labelNames: ['listener', 'result'] as const,
    registers: [this.registry],
  });
  readonly smtpMessageBytes = new Counter({ name: 'postel_smtp_message_bytes_total', help: 'Octets of accepted messages', registers: [this.registry] });
  private readonly storeOperationDuration = new CountedHistogram({
    name: 'postel_store_operation_duration_seconds',
    help: 'Mail store operations (deliver, open, commit)',
    labelNames: ['op'] as const,
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  /** Measures the stores when scraped (set by watchMaildirUsage). */
  storeUsage: (() => Promise<{ store: string; messages: number; bytes: number }>) | undefined;
  readonly messagesStored: Gauge<'store'> = new Gauge({
    name: 'postel_messages_stored',
    help: 'Messages in the store, by store',
    labelNames: ['store'] as const,
    registers: [this.registry],
    collect: async () => {
      const usage = await this.storeUsage?.();
      if (usage) this.messagesStored.set({ store: usage.store }, usage.messages);
    },
  });
  readonly storageBytes: Gauge<'store'> = new Gauge({
    name: 'postel_storage_bytes',
    help: 'Stored octets, by store',
    labelNames: ['store'] as const,
    registers: [this.registry],
    collect: async () => {
      const usage = await this.storeUsage?.();
      if (usage) this.storageBytes.set({ store: usage.store }, usage.bytes);
    },
  });

  /** Whether the protocol and store series are recorded ([metrics] enabled); the recorders ask. */
  readonly recording: boolean;

  constructor(options: { processMetrics?: boolean; recording?: boolean } = {}) {
    this.recording = options.recording ?? true;
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'postel_' });
  }

  authAttempt(protocol: AuthProtocol, mechanism: string, result: AuthResultLabel): void {
    this.authAttempts.child(protocol, mechanism.toUpperCase(), result).inc();
  }

  /** One POP3 command answered (verb as the observer reports it), and what RETR sent. */
  pop3Command(verb: string, ok: boolean, seconds: number, retrBytes: number): void {
    this.pop3Commands.child(verb, ok ? 'ok' : 'err').inc();
    this.pop3CommandDuration.child(verb).observe(seconds);
    if (retrBytes > 0) this.pop3RetrBytes.inc(retrBytes);
  }

  smtpMessage(listener: string, accepted: boolean, bytes: number): void {
    this.smtpMessages.child(listener, accepted ? 'accepted' : 'rejected').inc();
    if (accepted) this.smtpMessageBytes.inc(bytes);
  }

  /** Times an asynchronous store operation; the histogram sees failures too. */
  async timeStore<T>(op: string, work: () => Promise<T>): Promise<T> {
    if (!this.recording) return work();
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.storeOperationDuration.child(op).observe((performance.now() - started) / 1000);
    }
  }
}
