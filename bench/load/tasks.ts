import { performance } from 'node:perf_hooks';
import type { TLSSocket } from 'node:tls';
import { Pop3Conn, type Endpoint } from './pop3-conn.js';
import { SmtpConn } from './smtp-conn.js';

/*
 * The work a load-generator thread does. Every loop is bounded twice: by a deadline and by
 * a count, so a server that stops answering cannot keep the benchmark running.
 */

export interface Account {
  readonly user: string;
  readonly password: string;
}

export type Task =
  | { readonly kind: 'churn'; readonly endpoint: Endpoint; readonly clients: readonly Account[]; readonly durationMs: number; readonly maxSessions: number; readonly resume: boolean }
  | { readonly kind: 'retr'; readonly endpoint: Endpoint; readonly account: Account; readonly count: number; readonly timeoutMs: number }
  | { readonly kind: 'listing'; readonly endpoint: Endpoint; readonly account: Account }
  | { readonly kind: 'idle-open'; readonly endpoint: Endpoint; readonly clients: readonly Account[]; readonly concurrency: number; readonly timeoutMs: number }
  | { readonly kind: 'idle-probe'; readonly endpoint: Endpoint; readonly account: Account; readonly samples: number }
  | { readonly kind: 'idle-close' }
  | { readonly kind: 'smtp'; readonly host: string; readonly port: number; readonly senders: number; readonly recipients: readonly string[]; readonly message: Buffer; readonly durationMs: number; readonly maxMessages: number };

export interface ChurnResult {
  readonly sessions: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly resumed: number;
  readonly latenciesMs: number[];
}

export interface RetrResult {
  readonly messages: number;
  readonly bytes: number;
  /** From the first RETR sent to the last byte of the last one. */
  readonly ms: number;
}

export interface ListingResult {
  /** PASS sent to +OK: the maildrop is opened (and indexed, if it was not) here. */
  readonly loginMs: number;
  readonly statMs: number;
  readonly uidlMs: number;
  readonly listMs: number;
  /** Connect to the STAT answer: what a user waits for before anything is known. */
  readonly toStatMs: number;
  readonly statLine: string;
  readonly uidlBytes: number;
  readonly listBytes: number;
}

export interface IdleOpenResult {
  readonly opened: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly ms: number;
}

export interface ProbeResult {
  /** Connect to greeting. */
  readonly greetingMs: number[];
  /** Connect to the QUIT answer of a whole USER/PASS/STAT/QUIT session. */
  readonly sessionMs: number[];
  readonly errors: number;
  readonly firstError: string | null;
}

export interface SmtpResult {
  readonly messages: number;
  readonly errors: number;
  readonly firstError: string | null;
  readonly latenciesMs: number[];
}

export type TaskResult = ChurnResult | RetrResult | ListingResult | IdleOpenResult | ProbeResult | SmtpResult | { readonly closed: number };

export function runTask(task: Task): Promise<TaskResult> {
  switch (task.kind) {
    case 'churn':
      return churn(task);
    case 'retr':
      return retr(task);
    case 'listing':
      return listing(task);
    case 'idle-open':
      return idleOpen(task);
    case 'idle-probe':
      return idleProbe(task);
    case 'idle-close':
      return Promise.resolve(idleClose());
    case 'smtp':
      return smtp(task);
  }
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function churn(t: Extract<Task, { kind: 'churn' }>): Promise<ChurnResult> {
  const deadline = performance.now() + t.durationMs;
  const latenciesMs: number[] = [];
  let errors = 0;
  let resumed = 0;
  let firstError: string | null = null;
  await Promise.all(
    t.clients.map(async (account) => {
      let ticket: Buffer | undefined;
      while (performance.now() < deadline && latenciesMs.length + errors < t.maxSessions) {
        const start = performance.now();
        try {
          const conn = await Pop3Conn.open(t.endpoint, t.resume ? { ...(ticket ? { session: ticket } : {}), onSession: (s) => (ticket = s) } : {});
          if (t.endpoint.tls && (conn.socket as TLSSocket).isSessionReused()) resumed++;
          await conn.login(account.user, account.password);
          const stat = await conn.command('STAT');
          if (!stat.ok) throw new Error(`STAT: ${stat.line}`);
          await conn.quit();
          latenciesMs.push(performance.now() - start);
        } catch (err) {
          errors++;
          firstError ??= `${account.user}: ${message(err)}`;
          // A refusing server must not turn the loop into a busy spin.
          await pause(20);
        }
      }
    }),
  );
  return { sessions: latenciesMs.length, errors, firstError, resumed, latenciesMs };
}

async function retr(t: Extract<Task, { kind: 'retr' }>): Promise<RetrResult> {
  const conn = await Pop3Conn.open(t.endpoint);
  try {
    await conn.login(t.account.user, t.account.password);
    const deadline = performance.now() + t.timeoutMs;
    const start = performance.now();
    let bytes = 0;
    let messages = 0;
    for (let i = 1; i <= t.count && performance.now() < deadline; i++) {
      const r = await conn.multiline(`RETR ${i}`);
      if (!r.ok) throw new Error(`RETR ${i}: ${r.line}`);
      bytes += r.bodyBytes;
      messages++;
    }
    const ms = performance.now() - start;
    await conn.quit();
    return { messages, bytes, ms };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

async function listing(t: Extract<Task, { kind: 'listing' }>): Promise<ListingResult> {
  const t0 = performance.now();
  const conn = await Pop3Conn.open(t.endpoint, { timeoutMs: 120_000 });
  try {
    const u = await conn.command(`USER ${t.account.user}`);
    if (!u.ok) throw new Error(`USER: ${u.line}`);
    const t1 = performance.now();
    const p = await conn.command(`PASS ${t.account.password}`);
    if (!p.ok) throw new Error(`PASS: ${p.line}`);
    const t2 = performance.now();
    const stat = await conn.command('STAT');
    const t3 = performance.now();
    const uidl = await conn.multiline('UIDL');
    const t4 = performance.now();
    const list = await conn.multiline('LIST');
    const t5 = performance.now();
    if (!stat.ok || !uidl.ok || !list.ok) throw new Error(`listing refused: ${stat.line} / ${uidl.line} / ${list.line}`);
    await conn.quit();
    return { loginMs: t2 - t1, statMs: t3 - t2, uidlMs: t4 - t3, listMs: t5 - t4, toStatMs: t3 - t0, statLine: stat.line, uidlBytes: uidl.bodyBytes, listBytes: list.bodyBytes };
  } catch (err) {
    conn.destroy();
    throw err;
  }
}

/** Sessions held open by idle-open in this thread until idle-close. */
const held: Pop3Conn[] = [];

async function idleOpen(t: Extract<Task, { kind: 'idle-open' }>): Promise<IdleOpenResult> {
  const start = performance.now();
  const deadline = start + t.timeoutMs;
  let next = 0;
  let opened = 0;
  let errors = 0;
  let firstError: string | null = null;
  const worker = async (): Promise<void> => {
    while (next < t.clients.length && performance.now() < deadline) {
      const account = t.clients[next++] as Account;
      try {
        const conn = await Pop3Conn.open(t.endpoint);
        try {
          await conn.login(account.user, account.password);
          const stat = await conn.command('STAT');
          if (!stat.ok) throw new Error(`STAT: ${stat.line}`);
        } catch (err) {
          conn.destroy();
          throw err;
        }
        held.push(conn);
        opened++;
      } catch (err) {
        errors++;
        firstError ??= `${account.user}: ${message(err)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(t.concurrency, t.clients.length) }, worker));
  return { opened, errors, firstError, ms: performance.now() - start };
}

async function idleProbe(t: Extract<Task, { kind: 'idle-probe' }>): Promise<ProbeResult> {
  const greetingMs: number[] = [];
  const sessionMs: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  for (let i = 0; i < t.samples; i++) {
    const start = performance.now();
    try {
      const conn = await Pop3Conn.open(t.endpoint);
      greetingMs.push(performance.now() - start);
      await conn.login(t.account.user, t.account.password);
      await conn.command('STAT');
      await conn.quit();
      sessionMs.push(performance.now() - start);
    } catch (err) {
      errors++;
      firstError ??= message(err);
    }
    // Spaced out, so each probe meets the server at rest rather than the previous probe.
    await pause(50);
  }
  return { greetingMs, sessionMs, errors, firstError };
}

function idleClose(): { closed: number } {
  const closed = held.length;
  for (const conn of held.splice(0)) conn.destroy();
  return { closed };
}

async function smtp(t: Extract<Task, { kind: 'smtp' }>): Promise<SmtpResult> {
  const deadline = performance.now() + t.durationMs;
  const latenciesMs: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  let n = 0;
  await Promise.all(
    Array.from({ length: t.senders }, async () => {
      let conn: SmtpConn | null = null;
      while (performance.now() < deadline && latenciesMs.length + errors < t.maxMessages) {
        const rcpt = t.recipients[n++ % t.recipients.length] as string;
        const start = performance.now();
        try {
          if (!conn) {
            conn = await SmtpConn.open(t.host, t.port);
            await conn.send('EHLO bench.localhost', 250);
          }
          await conn.send('MAIL FROM:<bench@localhost>', 250);
          await conn.send(`RCPT TO:<${rcpt}>`, 250);
          await conn.data(t.message);
          latenciesMs.push(performance.now() - start);
        } catch (err) {
          errors++;
          firstError ??= message(err);
          conn?.destroy();
          conn = null;
          await pause(20);
        }
      }
      await conn?.quit().catch(() => undefined);
    }),
  );
  return { messages: latenciesMs.length, errors, firstError, latenciesMs };
}
