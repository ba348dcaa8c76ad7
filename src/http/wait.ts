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
}

export interface WaitResult {
  readonly user: string;
  readonly message: ParsedMessage;
}

/** Mailboxes are looked at again this often even without an event: `postel deliver` in another process publishes none. */
const RESCAN_MS = 1000;

/**
 * Resolves with the newest message that matches (one already there counts), or null when
 * `timeoutMs` passes first. Deliveries in this process wake it at once; others are found
 * by a rescan every second. A mailbox locked by a POP3 session is looked at again later.
 */
export async function waitForMessage(mailboxes: Mailboxes, events: EventBus, request: WaitRequest): Promise<WaitResult | null> {
  const terms = searchTerms(request.query);
  return new Promise<WaitResult | null>((resolve, reject) => {
    let done = false;
    let scanning = false;
    let again = false;
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
      if (scanning) {
        again = true;
        return;
      }
      scanning = true;
      try {
        do {
          again = false;
          for (const user of await request.users()) {
            if (done) return;
            const found = await scanOne(mailboxes, user, terms);
            if (found) return finish({ user, message: found });
          }
        } while (again && !done);
      } catch (err) {
        finish(null, err);
      } finally {
        scanning = false;
      }
    };
    const onAbort = (): void => finish(null);
    const unsubscribe = events.subscribe((event) => {
      if (event.type === 'message.new') void scan();
    });
    const timeout = setTimeout(() => finish(null), request.timeoutMs);
    const rescan = setInterval(() => void scan(), RESCAN_MS);
    request.signal?.addEventListener('abort', onAbort);
    void scan();
  });
}

async function scanOne(mailboxes: Mailboxes, user: string, terms: readonly SearchTerm[]): Promise<ParsedMessage | null> {
  try {
    const [first] = await mailboxes.scan(user, terms);
    return first ?? null;
  } catch (err) {
    // Locked by a POP3 session now, or removed: look again at the next chance.
    if (err instanceof ApiError && (err.code === 'maildrop_locked' || err.code === 'not_found')) return null;
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
