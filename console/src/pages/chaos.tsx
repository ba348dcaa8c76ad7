import { useEffect, useState } from 'preact/hooks';
import { getJson, send } from '../api.js';

export function ChaosPage() {
  const [rules, setRules] = useState('');
  const [error, setError] = useState('');
  const load = (): void => void getJson<unknown>('/api/v1/chaos').then((r) => setRules(JSON.stringify(r, null, 2)), (err: Error) => setError(err.message));
  useEffect(load, []);
  const act = (work: Promise<void>): void => void work.then(() => (setError(''), load()), (err: Error) => setError(err.message));
  return (
    <section>
      <h1>Chaos</h1>
      <p>The POP3/SMTP fault switches of the API (PUT /api/v1/chaos); edit the JSON and apply.</p>
      {error && <p class="error" role="alert">{error}</p>}
      <textarea class="code" rows={14} value={rules} onInput={(e) => setRules(e.currentTarget.value)} />
      <div class="toolbar">
        <button type="button" onClick={() => act(send('PUT', '/api/v1/chaos', JSON.parse(rules || '{}')))}>Apply</button>
        <button type="button" class="danger" onClick={() => act(send('DELETE', '/api/v1/chaos'))}>Clear all</button>
      </div>
    </section>
  );
}
