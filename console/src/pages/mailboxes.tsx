import { useEffect, useState } from 'preact/hooks';
import { formatDate, formatSize, getJson } from '../api.js';

interface Row {
  name: string;
  quota: number | null;
  usage: number;
  messages: number | null;
  lastLogin: string | null;
  lockedBy: string | null;
}

interface Overview {
  mailboxes: { user: string; messages: number | null; size: number; quota: number | null; lastLogin: string | null; lockedBy: { session: string; remote: string; since: string } | null }[];
}

export function MailboxesPage() {
  const [rows, setRows] = useState<Row[] | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    getJson<Overview>('/api/v1/mailboxes/overview').then(
      (o) =>
        setRows(
          o.mailboxes.map((m) => ({
            name: m.user,
            quota: m.quota,
            usage: m.size,
            messages: m.messages,
            lastLogin: m.lastLogin,
            lockedBy: m.lockedBy ? `${m.lockedBy.remote} (since ${formatDate(m.lockedBy.since)})` : null,
          })),
        ),
      (err: Error) => setError(err.message),
    );
  }, []);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!rows) return <p class="loading">Loading…</p>;
  return (
    <section>
      <h1>Mailboxes</h1>
      <div class="scroll">
      <table class="grid" id="mailboxes">
        <thead>
          <tr>
            <th>User</th>
            <th class="num">Messages</th>
            <th class="num">Size</th>
            <th class="num">Quota</th>
            <th>Last login</th>
            <th>Locked by</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.name} data-user={r.name} data-messages={r.messages ?? ''} data-size={r.usage}>
              <td>
                <a href={`#/mailbox/${encodeURIComponent(r.name)}`}>{r.name}</a>
              </td>
              <td class="num">{r.messages ?? '—'}</td>
              <td class="num">{formatSize(r.usage)}</td>
              <td class="num">{r.quota ? formatSize(r.quota) : 'none'}</td>
              <td class="last-login" data-at={r.lastLogin ?? ''}>{r.lastLogin ? formatDate(r.lastLogin) : 'never'}</td>
              <td>{r.lockedBy ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      {rows.length === 0 && <p>No users yet. Add one on the Users page.</p>}
    </section>
  );
}
