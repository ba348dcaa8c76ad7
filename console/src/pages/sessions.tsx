import { useEffect, useState } from 'preact/hooks';
import { formatDate, getJson, send, subscribe, type ServerEvent } from '../api.js';

interface Session {
  protocol: 'pop3' | 'smtp';
  id: string;
  remote: string;
  startedAt: string;
  user: string | null;
  state: string;
  tls: boolean | null;
  [key: string]: unknown;
}

export function SessionsPage() {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [locked, setLocked] = useState<string[]>([]);
  const [failures, setFailures] = useState<ServerEvent[]>([]);
  const [error, setError] = useState('');
  const load = (): void =>
    void getJson<{ sessions: Session[]; lockedMaildrops: string[] }>('/api/v1/sessions').then(
      (s) => (setSessions(s.sessions), setLocked(s.lockedMaildrops)),
      (err: Error) => setError(err.message),
    );
  useEffect(load, []);
  useEffect(
    () =>
      subscribe('session.start,session.end,login.failed', (e) => {
        if (e.type === 'login.failed') setFailures((f) => [{ ...e, at: new Date().toISOString() }, ...f].slice(0, 50));
        else load();
      }),
    [],
  );
  const extra = (s: Session): string =>
    Object.entries(s)
      .filter(([k, v]) => !['protocol', 'id', 'remote', 'startedAt', 'user', 'state', 'tls'].includes(k) && v !== null && typeof v !== 'object')
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
  return (
    <section>
      <h1>Sessions</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <table class="grid" id="sessions">
        <thead>
          <tr>
            <th>Protocol</th>
            <th>User</th>
            <th>Address</th>
            <th>Since</th>
            <th>State</th>
            <th>Counters</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id}>
              <td>{s.protocol.toUpperCase()}{s.tls ? ' (TLS)' : ''}</td>
              <td>{s.user ?? '—'}</td>
              <td>{s.remote}</td>
              <td>{formatDate(s.startedAt)}</td>
              <td>{s.state}</td>
              <td class="small">{extra(s)}</td>
              <td>
                <button type="button" class="danger" onClick={() => void send('DELETE', `/api/v1/sessions/${encodeURIComponent(s.id)}`).then(load, (err: Error) => setError(err.message))}>
                  End
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {sessions.length === 0 && <p>No one is connected.</p>}
      <h2>Locked maildrops</h2>
      <p>{locked.length ? locked.join(', ') : 'none'}</p>
      <h2>Failed logins (since this page opened)</h2>
      <table class="grid" id="failures">
        <tbody>
          {failures.map((f) => (
            <tr>
              <td>{formatDate(f.at as string)}</td>
              <td>{String(f.protocol)}</td>
              <td>{String(f.mechanism)}</td>
              <td>{String(f.user ?? '—')}</td>
              <td>{String(f.remote)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {failures.length === 0 && <p>None seen.</p>}
    </section>
  );
}
