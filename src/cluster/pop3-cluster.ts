import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthEvent, AuthPolicy } from '../auth/policy.js';
import type { BoundListener } from '../pop3/server.js';
import { isMessage, type ToPrimary, type ToWorker } from './messages.js';

/** A worker that dies is replaced, but not faster than this, so a crash loop cannot spin. */
const RESTART_DELAY_MS = 1000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * POP3 served by `count` worker processes (node:cluster) that share the listening sockets:
 * the kernel hands each connection to one of them (SCHED_NONE, no hop through this process).
 * Workers run this same program; `serve` sees cluster.isWorker and runs runPop3Worker.
 *
 * What keeps one-process guarantees: the maildrop lock is a file created with O_EXCL, so
 * two sessions of a user exclude each other in any process, and a dead worker's locks are
 * taken over (its pid is gone). The AuthPolicy's events (failures, logins) are relayed
 * between the workers and this process's policy (which submission uses), and verified
 * passwords (the authentication cache, under a shared HMAC key) between workers. TLS ticket
 * keys are shared, so a session resumes whichever worker it lands on. Limits
 * (max_connections, max_connections_per_ip) and the maildrop snapshot cache are per worker.
 */
export class Pop3Cluster {
  private readonly workers = new Set<Worker>();
  private readonly ticketKeys = randomBytes(48).toString('hex');
  private readonly authCacheKey = randomBytes(32).toString('hex');
  private stopping = false;

  constructor(
    private readonly count: number,
    private readonly logger: Logger,
    /** This process's policy: it takes the workers' events; share() sends its own to them. */
    private readonly authPolicy: AuthPolicy,
  ) {}

  /** An event this process's policy counted (a submission login): every worker learns it. */
  share(event: AuthEvent): void {
    for (const worker of this.workers) this.send(worker, { type: 'postel:auth-event', event });
  }

  /** Sessions are counted in the workers, which log them; this process does not know. */
  get connections(): null {
    return null;
  }

  /** Starts the workers; resolves with the listeners once every worker listens. */
  async listen(): Promise<BoundListener[]> {
    cluster.schedulingPolicy = cluster.SCHED_NONE;
    const ready = Array.from({ length: this.count }, () => this.fork());
    const bound = await Promise.all(ready);
    return bound[0] as BoundListener[];
  }

  /** SIGHUP: every worker reads its certificates again. */
  reload(): void {
    for (const worker of this.workers) this.send(worker, { type: 'postel:reload' });
  }

  /** Stops every worker (each ends its sessions uncommitted) and waits for them to exit. */
  async close(): Promise<void> {
    this.stopping = true;
    const exits = [...this.workers].map(
      (worker) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => worker.process.kill('SIGKILL'), STOP_TIMEOUT_MS);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          worker.process.kill('SIGTERM');
        }),
    );
    await Promise.all(exits);
  }

  private fork(): Promise<BoundListener[]> {
    const worker = cluster.fork();
    this.workers.add(worker);
    return new Promise((resolve, reject) => {
      let listening = false;
      worker.on('message', (msg: unknown) => {
        if (isMessage<Extract<ToPrimary, { type: 'postel:hello' }>>(msg, 'postel:hello')) {
          this.send(worker, { type: 'postel:init', ticketKeys: this.ticketKeys, authCacheKey: this.authCacheKey });
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:listening' }>>(msg, 'postel:listening')) {
          listening = true;
          resolve([...msg.bound]);
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:auth-event' }>>(msg, 'postel:auth-event')) {
          this.authPolicy.apply(msg.event);
          this.relay(worker, { type: 'postel:auth-event', event: msg.event });
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:metrics' }>>(msg, 'postel:metrics')) {
          this.metricReplies.get(msg.id)?.(msg.metrics);
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:verified' }>>(msg, 'postel:verified')) {
          this.relay(worker, { type: 'postel:verified', user: msg.user, stored: msg.stored, mac: msg.mac });
        }
      });
      worker.on('exit', (code, signal) => {
        this.workers.delete(worker);
        if (!listening) {
          reject(new Error(`POP3 worker ${worker.process.pid} exited before listening (code ${code}, signal ${signal})`));
          return;
        }
        if (this.stopping) return;
        this.logger.error({ event: 'worker_exit', pid: worker.process.pid, code, signal }, 'POP3 worker died; starting another');
        setTimeout(() => {
          if (!this.stopping) this.fork().catch((err: unknown) => this.logger.error({ err, event: 'worker_start_failed' }, 'could not replace a POP3 worker'));
        }, RESTART_DELAY_MS).unref();
      });
    });
  }

  private metricReplies = new Map<number, (metrics: unknown) => void>();
  private nextMetricsId = 1;

  /**
   * Every worker's metrics (prom-client's JSON form), for the main process to sum into one
   * exposition; a worker that does not answer within `timeoutMs` is left out of this scrape.
   */
  async workerMetrics(timeoutMs = 2000): Promise<unknown[]> {
    const asked = [...this.workers].filter((w) => w.isConnected());
    return (
      await Promise.all(
        asked.map(
          (worker) =>
            new Promise<unknown>((resolve) => {
              const id = this.nextMetricsId++;
              const timer = setTimeout(() => {
                this.metricReplies.delete(id);
                resolve(undefined);
              }, timeoutMs);
              this.metricReplies.set(id, (metrics) => {
                clearTimeout(timer);
                this.metricReplies.delete(id);
                resolve(metrics);
              });
              this.send(worker, { type: 'postel:metrics-request', id });
            }),
        ),
      )
    ).filter((m) => m !== undefined);
  }

  /** Passes what one worker learned to all the others. */
  private relay(from: Worker, msg: ToWorker): void {
    for (const other of this.workers) if (other !== from) this.send(other, msg);
  }

  private send(worker: Worker, msg: ToWorker): void {
    if (worker.isConnected()) worker.send(msg);
  }
}
