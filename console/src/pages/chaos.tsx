import { useEffect, useState } from 'preact/hooks';
import { getJson, send } from '../api.js';

const VERBS = ['USER', 'PASS', 'APOP', 'AUTH', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'QUIT', 'CAPA', 'STLS'];
const CODES = ['SYS/TEMP', 'IN-USE', 'LOGIN-DELAY'];

interface Rules {
  pop3Errors: { command: string; code: string; user: string | null; probability: number; times: number | null }[];
  [key: string]: unknown;
}

/** The API's fault switches (PUT /api/v1/chaos): a form for POP3 errors, the rest as JSON. */
export function ChaosPage() {
  const [rules, setRules] = useState('');
  const [active, setActive] = useState<Rules['pop3Errors']>([]);
  const [error, setError] = useState('');
  const [command, setCommand] = useState('RETR');
  const [code, setCode] = useState('SYS/TEMP');
  const [user, setUser] = useState('');
  const [times, setTimes] = useState('1');
  const load = (): void =>
    void getJson<Rules>('/api/v1/chaos').then(
      (r) => (setRules(JSON.stringify(r, null, 2)), setActive(r.pop3Errors)),
      (err: Error) => setError(err.message),
    );
  useEffect(load, []);
  const act = (work: () => Promise<void>): void =>
    void work().then(
      () => (setError(''), load()),
      (err: Error) => setError(err.message),
    );
  const addPop3Error = (e: Event): void => {
    e.preventDefault();
    act(async () => {
      const current = JSON.parse(rules || '{}') as Rules;
      const rule = { command, code, user: user.trim() || null, probability: 1, times: times.trim() === '' ? null : Number(times) };
      await send('PUT', '/api/v1/chaos', { ...current, pop3Errors: [...(current.pop3Errors ?? []), rule] });
    });
  };
  return (
    <section>
      <h1>Chaos</h1>
      <p>Faults on purpose, for testing mail clients: they apply to new commands at once.</p>
      {error && <p class="error" role="alert">{error}</p>}
      <h2>POP3 error</h2>
      <form class="toolbar" id="pop3-error" onSubmit={addPop3Error}>
        <label>
          Command{' '}
          <select name="command" value={command} onChange={(e) => setCommand(e.currentTarget.value)}>
            {VERBS.map((v) => (
              <option value={v}>{v}</option>
            ))}
          </select>
        </label>
        <label>
          answers -ERR{' '}
          <select name="code" value={code} onChange={(e) => setCode(e.currentTarget.value)}>
            {CODES.map((c) => (
              <option value={c}>[{c}]</option>
            ))}
          </select>
        </label>
        <input name="user" placeholder="user (all)" value={user} onInput={(e) => setUser(e.currentTarget.value)} />
        <input name="times" inputMode="numeric" placeholder="times (always)" value={times} onInput={(e) => setTimes(e.currentTarget.value)} />
        <button type="submit">Add</button>
      </form>
      <ul id="pop3-rules">
        {active.map((r) => (
          <li>
            {r.command} → -ERR [{r.code}] for {r.user ?? 'everyone'}, {r.times === null ? 'always' : `${r.times} more time${r.times === 1 ? '' : 's'}`}
            {r.probability < 1 ? `, chance ${r.probability}` : ''}
          </li>
        ))}
      </ul>
      {active.length === 0 && <p>No POP3 errors set.</p>}
      <h2>All rules</h2>
      <textarea class="code" rows={14} value={rules} onInput={(e) => setRules(e.currentTarget.value)} aria-label="rules as JSON" />
      <div class="toolbar">
        <button type="button" onClick={() => act(() => send('PUT', '/api/v1/chaos', JSON.parse(rules || '{}')))}>
          Apply
        </button>
        <button type="button" class="danger" onClick={() => act(() => send('DELETE', '/api/v1/chaos'))}>
          Clear all
        </button>
      </div>
    </section>
  );
}
