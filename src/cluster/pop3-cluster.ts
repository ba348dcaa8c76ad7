import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuthEvent, AuthPolicy } from '../auth/policy.js';
import type { BoundListener } from '../pop3/server.js';
import type { Chaos, ChaosRules } from '../chaos/chaos.js';
import type { EventBus, EventType } from '../events/bus.js';
import type { SessionEntry } from '../events/sessions.js';
import { isMessage, type Reply, type ToPrimary, type ToWorker } from './messages.js';

const REPLY_TYPES: ReadonlySet<string> = new Set<Reply['type']>(['postel:metrics', 'postel:sessions', 'postel:session-ended', 'postel:chaos-applied', 'postel:event-interest-applied']);

function isReply(msg: unknown): msg is Reply {
  return typeof msg === 'object' && msg !== null && REPLY_TYPES.has(String((msg as { type?: unknown }).type)) && typeof (msg as { id?: unknown }).id === 'number';
}

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
 * keys are shared, so a session resumes whichever worker it lands on. The workers' events,
 * sessions and chaos rules reach the HTTP API through this process. Limits
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
    /** What the workers see (sessions, failed logins, deletions) is published here; their chaos rules come from here. */
    private readonly observed: { readonly events?: EventBus; readonly chaos?: Chaos } = {},
  ) {
    // Workers forward only the events somebody here listens to: every session would
    // otherwise cross the IPC channel twice, for nobody.
    observed.events?.watchInterest((types) => this.shareInterest([...types]));
  }

  /** The main process's event interest changed: every worker forwards these types from now on. */
  private async shareInterest(types: EventType[], timeoutMs = 2000): Promise<void> {
    await this.askAll<Extract<Reply, { type: 'postel:event-interest-applied' }>>((id) => ({ type: 'postel:event-interest', id, types }), 'postel:event-interest-applied', timeoutMs);
  }

  /**
   * The chaos rules changed: every worker takes them (each counts a rule's `times` on its
   * own); resolves once they have (or did not answer in time).
   */
  async shareChaos(rules: ChaosRules, timeoutMs = 2000): Promise<void> {
    await this.askAll<Extract<Reply, { type: 'postel:chaos-applied' }>>((id) => ({ type: 'postel:chaos', id, rules }), 'postel:chaos-applied', timeoutMs);
  }

  /** Every worker's POP3 sessions; a worker that does not answer in time is left out. */
  async workerSessions(timeoutMs = 2000): Promise<SessionEntry[]> {
    const replies = await this.askAll<Extract<Reply, { type: 'postel:sessions' }>>((id) => ({ type: 'postel:sessions-request', id }), 'postel:sessions', timeoutMs);
    return replies.flatMap((r) => r.sessions);
  }

  /** Ends a session in whichever worker has it; false when none does. */
  async endWorkerSession(session: string, text: string, timeoutMs = 2000): Promise<boolean> {
    const replies = await this.askAll<Extract<Reply, { type: 'postel:session-ended' }>>((id) => ({ type: 'postel:end-session', id, session, text }), 'postel:session-ended', timeoutMs);
    return replies.some((r) => r.ended);
  }

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
          const { events, chaos } = this.observed;
          this.send(worker, {
            type: 'postel:init',
            ticketKeys: this.ticketKeys,
            authCacheKey: this.authCacheKey,
            events: events ? [...events.wanted()] : [],
            ...(chaos?.enabled ? { chaos: chaos.current } : {}),
          });
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:listening' }>>(msg, 'postel:listening')) {
          listening = true;
          // What changed between postel:init and now reached a worker without a handler
          // for it yet: it hears the interest and the rules again (nobody waits: id 0).
          const { events, chaos } = this.observed;
          if (events) this.send(worker, { type: 'postel:event-interest', id: 0, types: [...events.wanted()] });
          if (chaos?.enabled) this.send(worker, { type: 'postel:chaos', id: 0, rules: chaos.current });
          resolve([...msg.bound]);
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:auth-event' }>>(msg, 'postel:auth-event')) {
          this.authPolicy.apply(msg.event);
          this.relay(worker, { type: 'postel:auth-event', event: msg.event });
        } else if (isReply(msg)) {
          this.replies.get(msg.id)?.(msg);
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:event' }>>(msg, 'postel:event')) {
          this.observed.events?.publish(msg.event);
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:verified' }>>(msg, 'postel:verified')) {
          this.relay(worker, { type: 'postel:verified', user: msg.user, stored: msg.stored, mac: msg.mac });
        } else if (isMessage<Extract<ToPrimary, { type: 'postel:snapshot-saved' }>>(msg, 'postel:snapshot-saved')) {
          this.relay(worker, { type: 'postel:snapshot-saved', user: msg.user });
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

  private readonly replies = new Map<number, (reply: Reply) => void>();
  private nextRequestId = 1;

  /**
   * Every worker's metrics (prom-client's JSON form), for the main process to sum into one
   * exposition; a worker that does not answer within `timeoutMs` is left out of this scrape.
   */
  async workerMetrics(timeoutMs = 2000): Promise<unknown[]> {
    const replies = await this.askAll<Extract<Reply, { type: 'postel:metrics' }>>((id) => ({ type: 'postel:metrics-request', id }), 'postel:metrics', timeoutMs);
    return replies.map((r) => r.metrics);
  }

  /** Sends a request to every worker and collects the answers that come within `timeoutMs`. */
  private async askAll<R extends Reply>(request: (id: number) => ToWorker, answer: R['type'], timeoutMs: number): Promise<R[]> {
    const asked = [...this.workers].filter((w) => w.isConnected());
    const answers: (R | undefined)[] = await Promise.all(
      asked.map(
        (worker) =>
          new Promise<R | undefined>((resolve) => {
            const id = this.nextRequestId++;
            const timer = setTimeout(() => {
              this.replies.delete(id);
              resolve(undefined);
            }, timeoutMs);
            this.replies.set(id, (reply) => {
              clearTimeout(timer);
              this.replies.delete(id);
              resolve(reply.type === answer ? (reply as R) : undefined);
            });
            this.send(worker, request(id));
          }),
      ),
    );
    return answers.filter((a): a is R => a !== undefined);
  }

  /** Passes what one worker learned to all the others. */
  private relay(from: Worker, msg: ToWorker): void {
    for (const other of this.workers) if (other !== from) this.send(other, msg);
  }

  private send(worker: Worker, msg: ToWorker): void {
    if (worker.isConnected()) worker.send(msg);
  }
}
