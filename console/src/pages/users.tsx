import { useEffect, useState } from 'preact/hooks';
import { formatSize, getJson, send } from '../api.js';

interface User {
  name: string;
  quota: number | null;
  usage: number;
}

export function UsersPage() {
  const [users, setUsers] = useState<User[]>([]);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const load = (): void => void getJson<{ users: User[] }>('/api/v1/users').then((u) => setUsers(u.users), (err: Error) => setError(err.message));
  useEffect(load, []);
  const act = async (work: () => Promise<void>): Promise<void> => {
    try {
      await work();
      setError('');
    } catch (err) {
      setError((err as Error).message);
    }
    load();
  };
  return (
    <section>
      <h1>Users</h1>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => send('POST', '/api/v1/users', { name, password })).then(() => (setName(''), setPassword('')));
        }}
      >
        <input name="new-user" placeholder="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        <input name="new-password" type="password" placeholder="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        <button type="submit">Add user</button>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      <div class="scroll">
      <table class="grid" id="users">
        <thead>
          <tr>
            <th>User</th>
            <th class="num">Usage</th>
            <th class="num">Quota</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => (
            <tr key={u.name} data-user={u.name}>
              <td>{u.name}</td>
              <td class="num">{formatSize(u.usage)}</td>
              <td class="num">{u.quota ? formatSize(u.quota) : 'none'}</td>
              <td class="actions">
                <button
                  type="button"
                  onClick={() => {
                    const pw = prompt(`New password for ${u.name}`);
                    if (pw) void act(() => send('PUT', `/api/v1/users/${encodeURIComponent(u.name)}/password`, { password: pw }));
                  }}
                >
                  Password
                </button>
                <button
                  type="button"
                  onClick={() => {
                    const q = prompt(`Quota for ${u.name} in bytes (0: none)`, String(u.quota ?? 0));
                    if (q !== null && /^\d+$/.test(q.trim())) void act(() => send('PUT', `/api/v1/users/${encodeURIComponent(u.name)}/quota`, { bytes: Number(q) || null }));
                  }}
                >
                  Quota
                </button>
                <button
                  type="button"
                  class="danger"
                  onClick={() => {
                    if (confirm(`Delete user ${u.name}?`)) void act(() => send('DELETE', `/api/v1/users/${encodeURIComponent(u.name)}`));
                  }}
                >
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </section>
  );
}
