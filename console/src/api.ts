// The console talks only to postel's HTTP API, with the credentials the viewer typed in.
// They live in sessionStorage (this tab only); the message frame is sandboxed into an opaque
// origin, so nothing a message contains can read them.

const KEY = 'postel.authorization';

export type Who = { kind: 'admin' } | { kind: 'user'; user: string };

export function authorization(): string | null {
  return sessionStorage.getItem(KEY);
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function request(method: string, path: string, body?: unknown, auth = authorization(), signal?: AbortSignal): Promise<Response> {
  // Without it a wrong password's 401 (Basic challenge) pops the browser's own login dialog.
  const headers: Record<string, string> = { 'x-requested-with': 'XMLHttpRequest' };
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(signal ? { signal } : {}), ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (!res.ok) {
    let message = res.statusText;
    try {
      message = ((await res.json()) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      // not JSON: keep the status text
    }
    throw new ApiError(res.status, `${res.status} ${message}`);
  }
  return res;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await (await request('GET', path)).json()) as T;
}

export async function send(method: string, path: string, body?: unknown): Promise<void> {
  await request(method, path, body);
}

/** Tries the credentials against the API; stores them when they work. */
export async function signIn(auth: string): Promise<Who> {
  const who = await whoAmI(auth);
  sessionStorage.setItem(KEY, auth);
  return who;
}

/** The admin token lists users; a user's login gets 403 there and sees its own mailbox. */
export async function whoAmI(auth = authorization()): Promise<Who> {
  const mine = (await (await request('GET', '/api/v1/mailboxes', undefined, auth)).json()) as { mailboxes: { user: string }[] };
  try {
    await request('GET', '/api/v1/users', undefined, auth);
    return { kind: 'admin' };
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return { kind: 'user', user: mine.mailboxes[0]?.user ?? '' };
    throw err;
  }
}

export interface ServerEvent {
  type: string;
  [key: string]: unknown;
}

/**
 * The API's event stream. EventSource cannot send an Authorization header, so this reads the
 * text/event-stream body with fetch; it reconnects after a pause until `stop` is called.
 */
export function subscribe(types: string, onEvent: (e: ServerEvent) => void, onOpen?: () => void): () => void {
  let stopped = false;
  let abort = new AbortController();
  const run = async (): Promise<void> => {
    while (!stopped) {
      abort = new AbortController();
      try {
        const res = await request('GET', `/api/v1/events?types=${encodeURIComponent(types)}`, undefined, authorization(), abort.signal);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        let opened = false;
        for (;;) {
          const { value, done } = await reader.read();
          if (done || stopped) break;
          buffer += decoder.decode(value, { stream: true });
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (!opened && block.startsWith(': subscribed')) {
              opened = true;
              onOpen?.();
            }
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (data) onEvent(JSON.parse(data) as ServerEvent);
          }
        }
      } catch {
        // network error or aborted: retry below unless stopped
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 2000));
    }
  };
  void run();
  return () => {
    stopped = true;
    abort.abort();
  };
}

export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return '—';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}
