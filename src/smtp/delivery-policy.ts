import type { CopyOutcome } from './local-delivery.js';
import type { FailedRecipient } from './queue/dsn.js';
import type { Route } from './recipients.js';
import { replies, type SmtpReplyError } from './reply.js';

/**
 * What happens to one accepted message, decided without I/O: which copies to make, what each
 * recipient is told, what goes to the queue for retry and what is bounced. Intake makes the
 * copies and carries out what these functions return.
 */

export interface RelayRights {
  /** Recipients on other domains may be relayed: an authenticated submission with a smarthost. */
  readonly mayRelay: boolean;
  /** A smarthost is configured, so remote alias targets can be forwarded. */
  readonly canRelay: boolean;
}

export interface FanOut {
  /** One copy per maildrop, in recipient order; `rcpt` is the recipient named in its trace field. */
  readonly copies: readonly { readonly user: string; readonly rcpt: string }[];
  /** Addresses for the one smarthost queue entry, each once. */
  readonly relayTo: readonly string[];
  /** Remote alias targets left out because there is no smarthost (for the log). */
  readonly dropped: readonly { readonly rcpt: string; readonly forward: readonly string[] }[];
}

/** The copies to make: each maildrop once, even when several recipients lead to it. */
export function planFanOut(rcpts: readonly string[], routes: readonly Route[], rights: RelayRights): FanOut {
  const copies: { user: string; rcpt: string }[] = [];
  const seen = new Set<string>();
  const remote: string[] = [];
  const dropped: { rcpt: string; forward: readonly string[] }[] = [];
  rcpts.forEach((rcpt, i) => {
    const route = routeAt(routes, i);
    // Checked again as at RCPT: a domain that stopped being local since must not open a relay.
    if (route.kind === 'remote' && rights.mayRelay) remote.push(rcpt);
    if (route.kind !== 'local') return;
    for (const user of route.users) {
      if (seen.has(user)) continue;
      seen.add(user);
      copies.push({ user, rcpt });
    }
    if (rights.canRelay) remote.push(...route.forward);
    else if (route.forward.length > 0) dropped.push({ rcpt, forward: route.forward });
  });
  return { copies, relayTo: [...new Set(remote)], dropped };
}

/** What one recipient of a message came to. */
export interface RecipientResult {
  readonly address: string;
  readonly outcome: CopyOutcome;
  /** Maildrops of this recipient whose copy failed (for an alias, while others may have worked). */
  readonly failedTargets: readonly { readonly user: string; readonly reply: SmtpReplyError }[];
}

/**
 * Each recipient's result from the copies made (`copies`: maildrop -> outcome) and the
 * smarthost queue entry (`relayed`). An alias counts as stored when any of its copies was.
 */
export function recipientResults(
  rcpts: readonly string[],
  routes: readonly Route[],
  copies: ReadonlyMap<string, CopyOutcome>,
  relayed: CopyOutcome,
  rights: RelayRights,
): RecipientResult[] {
  return rcpts.map((address, i) => {
    const route = routeAt(routes, i);
    if (route.kind === 'unknown') return { address, outcome: { ok: false, reply: replies.unknownRecipient() }, failedTargets: [] };
    if (route.kind === 'remote') return { address, outcome: rights.mayRelay ? relayed : { ok: false, reply: replies.relayDenied() }, failedTargets: [] };
    const parts: CopyOutcome[] = route.users.map((u) => copies.get(u) ?? { ok: true });
    if (route.forward.length > 0 && rights.canRelay) parts.push(relayed);
    const failedTargets = route.users.flatMap((user) => {
      const o = copies.get(user);
      return o && !o.ok ? [{ user, reply: o.reply }] : [];
    });
    return { address, outcome: combine(parts), failedTargets };
  });
}

/** Copies that failed while others of the same message were stored: now ours to retry or bounce. */
export interface Settlement {
  /** Temporary failures: queued for retry to these maildrops. */
  readonly retry: readonly { readonly address: string; readonly user: string }[];
  /** Permanent failures: a bounce to the sender. */
  readonly bounce: readonly FailedRecipient[];
  /**
   * A whole recipient failed temporarily in the relay queue itself: nothing can hold it for
   * retry, so the client is told this reply and resends (duplicates for the others, no loss).
   */
  readonly resend?: SmtpReplyError;
}

/**
 * With `wholeRecipients` (SMTP), recipients that failed entirely are included; without it
 * (LMTP, which answers each recipient itself), only failed alias targets of stored ones.
 */
export function settle(results: readonly RecipientResult[], wholeRecipients: boolean): Settlement {
  const retry: { address: string; user: string }[] = [];
  const bounce: FailedRecipient[] = [];
  for (const r of results) {
    if (!wholeRecipients && !r.outcome.ok) continue;
    for (const t of r.failedTargets) {
      if (t.reply.temporary) retry.push({ address: r.address, user: t.user });
      else bounce.push({ address: r.address, status: t.reply.enhanced, diagnostic: `${t.reply.code} ${t.reply.message}` });
    }
    const reply = replyOf(r.outcome);
    // A failed recipient without maildrops of its own failed in the relay queue itself.
    if (wholeRecipients && reply && r.failedTargets.length === 0) {
      if (reply.temporary) return { retry: [], bounce: [], resend: reply };
      bounce.push({ address: r.address, status: reply.enhanced, diagnostic: `${reply.code} ${reply.message}` });
    }
  }
  return { retry, bounce };
}

/** SMTP gives one reply for the whole transaction. */
export type SmtpVerdict =
  /** Nothing was stored: the client keeps the message (a temporary reply first, so nothing is lost). */
  | { readonly kind: 'refuse'; readonly reply: SmtpReplyError }
  /** Something was stored: 250, after `settlement` is carried out. */
  | { readonly kind: 'accept'; readonly text: string; readonly settlement: Settlement };

export function smtpVerdict(results: readonly RecipientResult[]): SmtpVerdict {
  const failed = results.filter((r) => !r.outcome.ok);
  if (failed.length === results.length) {
    const first = failed.find((r) => replyOf(r.outcome)?.temporary) ?? failed[0];
    return { kind: 'refuse', reply: replyOf(first?.outcome) ?? replies.localError() };
  }
  const complete = failed.length === 0 && results.every((r) => r.failedTargets.length === 0);
  return { kind: 'accept', text: complete ? '2.0.0 Ok: delivered' : '2.0.0 Ok: delivered or queued', settlement: settle(results, true) };
}

/** LMTP (RFC 2033 section 4.2) answers each recipient after DATA. */
export function lmtpReplies(results: readonly RecipientResult[]): (string | SmtpReplyError)[] {
  return results.map((r) => (r.outcome.ok ? `2.0.0 <${r.address}> Ok: delivered` : r.outcome.reply));
}

/** A recipient with several targets (an alias) counts as stored when any copy was. */
function combine(outcomes: readonly CopyOutcome[]): CopyOutcome {
  if (outcomes.length === 0 || outcomes.some((o) => o.ok)) return { ok: true };
  const failures = outcomes as readonly { ok: false; reply: SmtpReplyError }[];
  return failures.find((f) => f.reply.temporary) ?? (failures[0] as CopyOutcome);
}

function replyOf(outcome: CopyOutcome | undefined): SmtpReplyError | undefined {
  return outcome && !outcome.ok ? outcome.reply : undefined;
}

function routeAt(routes: readonly Route[], i: number): Route {
  const route = routes[i];
  if (route === undefined) throw new RangeError(`no route for recipient ${i + 1}`);
  return route;
}
