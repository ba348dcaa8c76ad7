import type { EventBus } from '../events/bus.js';
import { ApiError } from './errors.js';
import { bodyOf, searchTerms, type Mailboxes, type ParsedMessage } from './mailboxes.js';
import type { SearchTerm } from './search.js';

export interface WaitRequest {
  /** Mailboxes to watch. */
  readonly users: () => Promise<readonly string[]>;
  /** Mailpit-style search; every term must hold. */
  readonly query: string;
  readonly timeoutMs: number;
  /** Ends the wait early (the client went away). */
  readonly signal?: AbortSignal;
  /** Look at every mailbox again this often, for mail no event announces; undefined: never. */
  readonly rescanMs?: number;
}

export interface WaitResult {
  readonly user: string;
  readonly message: ParsedMessage;
}

/**
 * Resolves with the newest message that matches (one already there counts), or null when
 * `timeoutMs` passes first. Each message.new event makes it look at that mailbox again:
 * deliveries of this process, and with PostgreSQL those of every node (LISTEN/NOTIFY);
 * store.resync (notifications may have been lost) makes it look at all of them. Mail that
 * no event announces (a Maildir written by `postel deliver` or procmail) is found by a
 * rescan every `rescanMs`, when given.
 */
export async function waitForMessage(mailboxes: Mailboxes, events: EventBus, request: WaitRequest): Promise<WaitResult | null> {
  const terms = searchTerms(request.query);
  return new Promise<WaitResult | null>((resolve, reject) => {
    let done = false;
    let scanning = false;
    /** What to look at next: every mailbox, or these. */
    let everything = true;
    const due = new Set<string>();
    const finish = (result: WaitResult | null, err?: unknown): void => {
      if (done) return;
      done = true;
      unsubscribe();
      clearTimeout(timeout);
      clearInterval(rescan);
      request.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve(result);
    };
    const scan = async (): Promise<void> => {
      if (scanning) return;
      scanning = true;
      try {
        while (!done && (everything || due.size > 0)) {
          const allowed = await request.users();
          const users = everything ? allowed : allowed.filter((u) => due.has(u));
          everything = false;
          due.clear();
          for (const user of users) {
            if (done) return;
            const found = await scanOne(mailboxes, user, terms);
            if (found) return finish({ user, message: found });
          }
        }
      } catch (err) {
        finish(null, err);
      } finally {
        scanning = false;
      }
    };
    const onAbort = (): void => finish(null);
    const unsubscribe = events.subscribe((event) => {
      if (event.type === 'message.new') due.add(event.user);
      else if (event.type === 'store.resync') everything = true;
      else return;
      void scan();
    }, ['message.new', 'store.resync']);
    const timeout = setTimeout(() => finish(null), request.timeoutMs);
    const rescan =
      request.rescanMs === undefined
        ? undefined
        : setInterval(() => {
            everything = true;
            void scan();
          }, request.rescanMs);
    request.signal?.addEventListener('abort', onAbort);
    void scan();
  });
}

async function scanOne(mailboxes: Mailboxes, user: string, terms: readonly SearchTerm[]): Promise<ParsedMessage | null> {
  try {
    const [first] = await mailboxes.scan(user, terms);
    return first ?? null;
  } catch (err) {
    // A mailbox removed meanwhile: look again at the next chance.
    if (err instanceof ApiError && err.code === 'not_found') return null;
    throw err;
  }
}


/** The first http(s) link: from the HTML's hrefs first, else from the text. */
export function firstLink(message: ParsedMessage): string | null {
  const href = message.html ? /href\s*=\s*["']?(https?:\/\/[^"'\s>]+)/i.exec(message.html)?.[1] : undefined;
  if (href) return decodeEntities(href);
  const inText = /https?:\/\/[^\s<>"')\]]+/i.exec(bodyOf(message).text)?.[0];
  return inText ? inText.replace(/[.,;:!?]+$/, '') : null;
}

/** The first code of 4 to 8 digits standing alone: in the subject, else in the text. */
export function firstCode(message: ParsedMessage): string | null {
  const pattern = /(?<![\d\w-])(\d{4,8})(?![\d\w-])/;
  return pattern.exec(message.subject)?.[1] ?? pattern.exec(message.text ?? '')?.[1] ?? pattern.exec(stripTags(message.html ?? ''))?.[1] ?? null;
}

function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&');
}

function stripTags(html: string): string {
  return html.replace(/<[^>]*>/g, ' ');
}
