import { useEffect, useState } from 'preact/hooks';
import { formatDate, formatSize, getJson, send, subscribe } from '../api.js';

interface Session {
  protocol: 'pop3' | 'smtp';
  id: string;
  remote: string;
  startedAt: string;
  user: string | null;
  state: string;
  tls: boolean | null;
  bytesIn: number | null;
  bytesOut: number | null;
  commands: number | null;
}

interface FailedLogin {
  at: string;
  address: string;
  user: string | null;
  door: string;
  blocked: boolean;
}

const num = (n: number | null): string => (n === null ? '—' : String(n));

export function SessionsPage() {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [locked, setLocked] = useState<string[]>([]);
  const [failures, setFailures] = useState<FailedLogin[]>([]);
  const [error, setError] = useState('');
  const load = (): void =>
    void getJson<{ sessions: Session[]; lockedMaildrops: string[] }>('/api/v1/sessions').then(
      (s) => (setSessions(s.sessions), setLocked(s.lockedMaildrops)),
      (err: Error) => setError(err.message),
    );
  const loadFailures = (): void => void getJson<{ failures: FailedLogin[] }>('/api/v1/auth/failures').then((f) => setFailures(f.failures), (err: Error) => setError(err.message));
  useEffect(() => {
    load();
    loadFailures();
  }, []);
  useEffect(
    () =>
      subscribe('session.start,session.end,login.failed', (e) => {
        if (e.type === 'login.failed') loadFailures();
        else load();
      }),
    [],
  );
  return (
    <section>
      <h1>Sessions</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="toolbar">
        <button type="button" onClick={() => (load(), loadFailures())}>
          Refresh
        </button>
      </div>
      <div class="scroll">
        <table class="grid" id="sessions">
          <thead>
            <tr>
              <th>Protocol</th>
              <th>User</th>
              <th>Address</th>
              <th>Since</th>
              <th>State</th>
              <th class="num">In</th>
              <th class="num">Out</th>
              <th class="num">Commands</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sessions.map((s) => (
              <tr key={s.id} data-session={s.id} data-bytes-in={s.bytesIn ?? ''} data-bytes-out={s.bytesOut ?? ''} data-commands={s.commands ?? ''}>
                <td>
                  {s.protocol.toUpperCase()}
                  {s.tls ? ' (TLS)' : ''}
                </td>
                <td>{s.user ?? '—'}</td>
                <td>{s.remote}</td>
                <td>{formatDate(s.startedAt)}</td>
                <td>{s.state}</td>
                <td class="num bytes-in" title={`${num(s.bytesIn)} octets`}>{s.bytesIn === null ? '—' : formatSize(s.bytesIn)}</td>
                <td class="num bytes-out" title={`${num(s.bytesOut)} octets`}>{s.bytesOut === null ? '—' : formatSize(s.bytesOut)}</td>
                <td class="num commands">{num(s.commands)}</td>
                <td>
                  <button type="button" class="danger" onClick={() => void send('DELETE', `/api/v1/sessions/${encodeURIComponent(s.id)}`).then(load, (err: Error) => setError(err.message))}>
                    End
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {sessions.length === 0 && <p>No one is connected.</p>}
      <h2>Locked maildrops</h2>
      <p>{locked.length ? locked.join(', ') : 'none'}</p>
      <h2>Recent failed logins</h2>
      <div class="scroll">
        <table class="grid" id="failures">
          <thead>
            <tr>
              <th>Time</th>
              <th>Door</th>
              <th>User (as typed)</th>
              <th>Address</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {failures.map((f) => (
              <tr data-door={f.door} data-user={f.user ?? ''} data-address={f.address}>
                <td>{formatDate(f.at)}</td>
                <td>{f.door}</td>
                <td>{f.user ?? '—'}</td>
                <td>{f.address}</td>
                <td>{f.blocked ? 'blocked' : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {failures.length === 0 && <p>None since the server started.</p>}
    </section>
  );
}
