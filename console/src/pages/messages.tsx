import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { formatDate, formatSize, getJson, send, subscribe } from '../api.js';

interface Summary {
  id: string;
  from: string;
  to: string;
  subject: string;
  date: string | null;
  size: number;
  seen: boolean;
}

interface Page {
  total: number;
  unread: number;
  start: number;
  messages: Summary[];
}

const PAGE = 50;

export function MessagesPage({ user }: { user: string }) {
  const [query, setQuery] = useState('');
  const [applied, setApplied] = useState('');
  const [start, setStart] = useState(0);
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState('');
  const [live, setLive] = useState(false);
  const [cursor, setCursor] = useState(0);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const table = useRef<HTMLTableElement>(null);
  const base = `/api/v1/mailboxes/${encodeURIComponent(user)}/messages`;

  const load = useCallback(async () => {
    const params = new URLSearchParams({ start: String(start), limit: String(PAGE) });
    if (applied) params.set('query', applied);
    try {
      setPage(await getJson<Page>(`${base}?${params}`));
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
  }, [base, start, applied]);

  useEffect(() => {
    void load();
  }, [load]);

  // New and deleted mail shows up without a reload.
  useEffect(
    () =>
      subscribe(
        'message.new,message.deleted',
        (e) => {
          if (e.user === user) void load();
        },
        () => setLive(true),
      ),
    [user, load],
  );

  const messages = page?.messages ?? [];
  const open = (m: Summary | undefined): void => {
    if (m) location.hash = `#/mailbox/${encodeURIComponent(user)}/${encodeURIComponent(m.id)}`;
  };
  const toggle = (id: string): void => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const deleteSelected = async (): Promise<void> => {
    for (const id of selected) await send('DELETE', `${base}/${encodeURIComponent(id)}`).catch((err: Error) => setError(err.message));
    setSelected(new Set());
    await load();
  };
  const purge = async (): Promise<void> => {
    if (!confirm(`Delete every message of ${user}?`)) return;
    await send('DELETE', base).catch((err: Error) => setError(err.message));
    await load();
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.target instanceof HTMLInputElement) return;
    if (e.key === 'ArrowDown' || e.key === 'j') setCursor((c) => Math.min(c + 1, messages.length - 1));
    else if (e.key === 'ArrowUp' || e.key === 'k') setCursor((c) => Math.max(c - 1, 0));
    else if (e.key === 'Enter' || e.key === 'o') open(messages[cursor]);
    else if (e.key === ' ' || e.key === 'x') {
      const m = messages[cursor];
      if (m) toggle(m.id);
    } else if (e.key === 'Delete' && selected.size > 0) void deleteSelected();
    else return;
    e.preventDefault();
  };

  return (
    <section>
      <h1>
        {user} <span class={live ? 'live on' : 'live'} title="live updates">{live ? '● live' : '○ connecting'}</span>
      </h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          setStart(0);
          setApplied(query.trim());
        }}
      >
        <input type="search" name="query" placeholder="from: to: subject: before: after: larger: is:unread has:attachment, words" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        <button type="submit">Search</button>
        <button type="button" disabled={selected.size === 0} onClick={() => void deleteSelected()}>
          Delete {selected.size > 0 ? selected.size : ''}
        </button>
        <button type="button" class="danger" onClick={() => void purge()}>
          Purge
        </button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {page && (
        <p class="meta">
          {page.total} message{page.total === 1 ? '' : 's'}, {page.unread} unread{applied ? ` matching “${applied}”` : ''}
        </p>
      )}
      <table class="grid messages" ref={table} tabIndex={0} onKeyDown={onKey} aria-label="messages (arrow keys or j/k move, Enter opens, x selects, Delete deletes)">
        <thead>
          <tr>
            <th />
            <th>Subject</th>
            <th>From</th>
            <th>Date</th>
            <th class="num">Size</th>
            <th class="narrow">UIDL</th>
          </tr>
        </thead>
        <tbody>
          {messages.map((m, i) => (
            <tr key={m.id} data-id={m.id} class={`${m.seen ? 'seen' : 'unseen'}${i === cursor ? ' cursor' : ''}`} aria-selected={i === cursor} onClick={() => setCursor(i)} onDblClick={() => open(m)}>
              <td>
                <input type="checkbox" aria-label="select" checked={selected.has(m.id)} onChange={() => toggle(m.id)} />
              </td>
              <td class="subject">
                <a href={`#/mailbox/${encodeURIComponent(user)}/${encodeURIComponent(m.id)}`}>{m.subject || '(no subject)'}</a>
              </td>
              <td>{m.from}</td>
              <td>{formatDate(m.date)}</td>
              <td class="num">{formatSize(m.size)}</td>
              <td class="narrow uidl">{m.id}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.total > PAGE && (
        <div class="pager">
          <button type="button" disabled={start === 0} onClick={() => setStart(Math.max(0, start - PAGE))}>
            Newer
          </button>
          <span>
            {start + 1}–{Math.min(start + PAGE, page.total)} of {page.total}
          </span>
          <button type="button" disabled={start + PAGE >= page.total} onClick={() => setStart(start + PAGE)}>
            Older
          </button>
        </div>
      )}
    </section>
  );
}
