import { join } from 'node:path';
import type { SessionCounts } from './smtp-server-adapter.js';
import type { Logger } from 'pino';
import type { AuthPolicy } from '../auth/policy.js';
import type { SaslMechanism } from '../auth/sasl/types.js';
import type { Authenticator } from '../auth/types.js';
import type { MailStore } from '../store/types.js';
import { AliasesFile, type AliasSource } from './aliases.js';
import { SmtpListener, type BoundSmtpListener, type SmtpLimits, type SmtpListenerSpec, type SmtpTls, type SubmissionAuthPolicy } from './listener.js';
import { LocalDelivery } from './local-delivery.js';
import { sweepSpool } from './spool.js';
import type { SmtpFaults } from './faults.js';
import type { IntakeObserver } from './observer.js';
import { OutboundQueue } from './queue/outbound-queue.js';
import { QueueStore } from './queue/queue-store.js';
import { smarthostRelay, type SmarthostSettings } from './queue/smarthost.js';
import { RecipientResolver, type UserDirectory } from './recipients.js';

/** Everything the SMTP side needs, as plain values (runtime.ts builds it from the config). */
export interface SmtpSettings {
  readonly hostname: string;
  readonly localDomains: readonly string[];
  readonly aliasesFile: string;
  /** DATA/mail, for quotas. */
  readonly mailRoot: string;
  /** DATA/spool: messages being received. */
  readonly spoolDir: string;
  /** DATA/queue: the persistent queue. */
  readonly queueDir: string;
  readonly listeners: readonly SmtpListenerSpec[];
  readonly limits: SmtpLimits;
  readonly submission: SubmissionAuthPolicy;
  readonly smarthost?: Omit<SmarthostSettings, 'heloName'>;
  readonly queue: { readonly retryIntervalsMs: readonly number[]; readonly maxAgeMs: number; readonly pollMs?: number };
}

export interface SmtpServiceDeps {
  readonly store: MailStore;
  readonly users: UserDirectory;
  readonly auth: Authenticator;
  /** The process's one AuthPolicy, shared with POP3. */
  readonly authPolicy: AuthPolicy;
  /** The shared XOAUTH2 mechanism, when [sasl] enables it. */
  readonly xoauth2?: SaslMechanism;
  readonly logger: Logger;
  /** Certificates; without them STARTTLS is not offered and implicit TLS cannot run. */
  readonly tls?: SmtpTls;
  /** Told about sessions, logins and messages (metrics, the HTTP API's sessions and events). */
  readonly observer?: IntakeObserver;
  /** Replies injected on purpose (the chaos switch). */
  readonly faults?: SmtpFaults;
  /** The aliases table of a PostgreSQL store; the aliases file (settings.aliasesFile) without one. */
  readonly aliases?: AliasSource;
  /** `postel dev`: every address is a mailbox, made on first use (see ResolverOptions). */
  readonly acceptAll?: (address: string) => Promise<string | null>;
}

/** The SMTP, LMTP and submission listeners with the queue they share. */
export class SmtpService {
  readonly queue: OutboundQueue;
  readonly resolver: RecipientResolver;
  private readonly listeners: SmtpListener[];
  private readonly spoolDir: string;
  private readonly log: Logger;

  constructor(settings: SmtpSettings, deps: SmtpServiceDeps) {
    const log = deps.logger.child({ component: 'smtp' });
    this.log = log;
    this.spoolDir = settings.spoolDir;
    const aliases = deps.aliases ?? new AliasesFile(settings.aliasesFile, log);
    this.resolver = new RecipientResolver({ hostname: settings.hostname, localDomains: settings.localDomains, users: deps.users, aliases, logger: log, ...(deps.acceptAll ? { acceptAll: deps.acceptAll } : {}) });
    const local = new LocalDelivery({ store: deps.store, users: deps.users, logger: log });
    this.queue = new OutboundQueue({
      store: new QueueStore(settings.queueDir),
      local,
      resolver: this.resolver,
      ...(settings.smarthost ? { relay: smarthostRelay({ ...settings.smarthost, heloName: settings.hostname }) } : {}),
      hostname: settings.hostname,
      retryIntervalsMs: settings.queue.retryIntervalsMs,
      maxAgeMs: settings.queue.maxAgeMs,
      ...(settings.queue.pollMs !== undefined ? { pollMs: settings.queue.pollMs } : {}),
      logger: log.child({ component: 'queue' }),
    });
    const intakeDeps = {
      auth: deps.auth,
      authPolicy: deps.authPolicy,
      ...(deps.xoauth2 ? { xoauth2: deps.xoauth2 } : {}),
      resolver: this.resolver,
      local,
      queue: this.queue,
      spoolDir: settings.spoolDir,
      logger: deps.logger,
      ...(deps.observer ? { observer: deps.observer } : {}),
      ...(deps.faults ? { faults: deps.faults } : {}),
    };
    this.listeners = settings.listeners.map((spec) => new SmtpListener(spec, settings.limits, settings.submission, settings.hostname, intakeDeps, deps.tls));
  }

  /** Ends one SMTP, LMTP or submission session (421); false when no listener has it. */
  endSession(id: string, text: string): boolean {
    return this.listeners.some((l) => l.endSession(id, text));
  }

  /** Octets and commands of one session so far; undefined when no listener has it. */
  sessionCounts(id: string): SessionCounts | undefined {
    for (const l of this.listeners) {
      const counts = l.sessionCounts(id);
      if (counts) return counts;
    }
    return undefined;
  }

  get connections(): number {
    return this.listeners.reduce((n, l) => n + l.connections, 0);
  }

  /** Starts the queue and every listener; if one cannot listen, the others are closed again. */
  async start(): Promise<BoundSmtpListener[]> {
    await sweepSpool(this.spoolDir, this.log);
    const results = await Promise.allSettled(this.listeners.map((l) => l.listen()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(this.listeners.map((l) => l.close().catch(() => undefined)));
      throw failed.reason;
    }
    this.queue.start();
    return results.map((r) => (r as PromiseFulfilledResult<BoundSmtpListener>).value);
  }

  async close(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.close()));
    await this.queue.stop();
  }
}

/** Where the SMTP side keeps its files under the data directory. */
export function smtpDataPaths(dataDir: string): { spoolDir: string; queueDir: string } {
  return { spoolDir: join(dataDir, 'spool'), queueDir: join(dataDir, 'queue') };
}
