import type { ObservedPop3Session } from '../pop3/observer.js';

export interface SessionEntry {
  readonly protocol: 'pop3' | 'smtp';
  readonly id: string;
  readonly remote: string;
  readonly startedAt: string;
  /** Logged in as (POP3: in TRANSACTION, holding the maildrop lock; SMTP: after AUTH). */
  readonly user: string | null;
  /** POP3: AUTHORIZATION, TRANSACTION, UPDATE; SMTP: the listener (smtp, lmtp, submission). */
  readonly state: string;
  readonly tls: boolean | null;
  /** Octets from and to the client so far, and the commands it sent (null when not known). */
  readonly bytesIn: number | null;
  readonly bytesOut: number | null;
  readonly commands: number | null;
}

export interface SessionCounts {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly commands: number;
}

/** Sessions another process holds (a POP3 worker). */
export interface SessionSource {
  list(): Promise<SessionEntry[]>;
  end(id: string, text: string): Promise<boolean>;
}

interface SmtpEntry {
  readonly listener: string;
  readonly remote: string;
  readonly startedAt: Date;
  user: string | null;
}

/**
 * Who is connected now over POP3 and SMTP (this process's sessions), fed by the protocol
 * observers; the HTTP API lists them and ends one on request.
 */
export class SessionRegistry {
  private readonly pop3 = new Map<string, ObservedPop3Session>();
  private readonly smtp = new Map<string, SmtpEntry>();

  constructor(
    private readonly endSmtp: (id: string, text: string) => boolean = () => false,
    private readonly smtpCounts: (id: string) => SessionCounts | undefined = () => undefined,
  ) {}

  /** The POP3 workers' sessions (pop3.workers > 1), which this process reaches over IPC. */
  private others: SessionSource | undefined;

  /** Sessions of other processes to list and end along with ours. */
  addSource(source: SessionSource): void {
    this.others = source;
  }

  /** This process's sessions and the other processes' (those that answer in time). */
  async all(): Promise<SessionEntry[]> {
    return [...this.list(), ...((await this.others?.list()) ?? [])];
  }

  pop3Started(session: ObservedPop3Session): void {
    this.pop3.set(session.id, session);
  }

  pop3Ended(id: string): void {
    this.pop3.delete(id);
  }

  smtpStarted(id: string, listener: string, remote: string): void {
    this.smtp.set(id, { listener, remote, startedAt: new Date(), user: null });
  }

  smtpAuthenticated(id: string, user: string): void {
    const entry = this.smtp.get(id);
    if (entry) entry.user = user;
  }

  smtpEnded(id: string): void {
    this.smtp.delete(id);
  }

  list(): SessionEntry[] {
    const pop3 = [...this.pop3.values()].map(
      (s): SessionEntry => ({ protocol: 'pop3', id: s.id, remote: s.remote, startedAt: s.startedAt.toISOString(), user: s.user, state: s.state, tls: s.tls, bytesIn: s.bytesIn, bytesOut: s.bytesOut, commands: s.commands }),
    );
    const smtp = [...this.smtp.entries()].map(([id, s]): SessionEntry => {
      const counts = this.smtpCounts(id);
      return { protocol: 'smtp', id, remote: s.remote, startedAt: s.startedAt.toISOString(), user: s.user, state: s.listener, tls: null, bytesIn: counts?.bytesIn ?? null, bytesOut: counts?.bytesOut ?? null, commands: counts?.commands ?? null };
    });
    return [...pop3, ...smtp];
  }

  /** The users whose maildrops these POP3 sessions hold locked. */
  static lockedMaildrops(sessions: readonly SessionEntry[]): string[] {
    return sessions.filter((s) => s.protocol === 'pop3' && (s.state === 'TRANSACTION' || s.state === 'UPDATE')).map((s) => s.user).filter((u): u is string => u !== null);
  }

  /** Ends a session without committing anything; false when there is none with that id. */
  async end(id: string, text = 'Session ended by the administrator'): Promise<boolean> {
    const pop3 = this.pop3.get(id);
    if (pop3) {
      await pop3.end(text);
      return true;
    }
    if (this.smtp.has(id)) return this.endSmtp(id, text);
    return (await this.others?.end(id, text)) ?? false;
  }
}
