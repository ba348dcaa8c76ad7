import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { authorization, getJson, signIn, signOut, whoAmI, type Who } from './api.js';
import { MailboxesPage } from './pages/mailboxes.js';
import { MessagesPage } from './pages/messages.js';
import { MessagePage } from './pages/message.js';
import { UsersPage } from './pages/users.js';
import { SessionsPage } from './pages/sessions.js';
import { ServerPage, type ServerInfo } from './pages/server.js';
import { ChaosPage } from './pages/chaos.js';
import './style.css';

/** Hash routes: the server serves one page, and a reload keeps the place. */
function useRoute(): string[] {
  const parse = (): string[] => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const onChange = (): void => setRoute(parse());
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

function Login({ onIn }: { onIn: (who: Who) => void }) {
  const [mode, setMode] = useState<'token' | 'user'>('token');
  const [token, setToken] = useState('');
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setError('');
    const auth = mode === 'token' ? `Bearer ${token.trim()}` : `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${password}`)))}`;
    try {
      onIn(await signIn(auth));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main class="login">
      <h1>postel</h1>
      <form onSubmit={submit}>
        <div class="tabs" role="tablist">
          <button type="button" role="tab" aria-selected={mode === 'token'} onClick={() => setMode('token')}>Admin token</button>
          <button type="button" role="tab" aria-selected={mode === 'user'} onClick={() => setMode('user')}>User login</button>
        </div>
        {mode === 'token' ? (
          <label>
            Token (from DATA/admin-token)
            <input name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken(e.currentTarget.value)} />
          </label>
        ) : (
          <>
            <label>
              User
              <input name="user" autoComplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} />
            </label>
            <label>
              Password
              <input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
          </>
        )}
        <button type="submit">Sign in</button>
        {error && <p class="error" role="alert">{error}</p>}
      </form>
    </main>
  );
}

function App() {
  const [who, setWho] = useState<Who | null | undefined>(authorization() ? undefined : null);
  const route = useRoute();
  // The chaos panel is offered only where [chaos] enabled: elsewhere its switches refuse.
  // undefined until /api/v1/server answered, so a direct #/chaos link waits instead of saying "No such page".
  const [chaos, setChaos] = useState<boolean | undefined>(undefined);
  useEffect(() => {
    if (who === undefined) whoAmI().then(setWho, () => (signOut(), setWho(null)));
    if (who?.kind === 'admin') getJson<ServerInfo>('/api/v1/server').then((s) => setChaos(s.chaosEnabled), () => setChaos(false));
  }, [who]);
  if (who === undefined) return <p class="loading">Loading…</p>;
  if (who === null) return <Login onIn={setWho} />;
  const admin = who.kind === 'admin';
  const [page = admin ? 'mailboxes' : 'mailbox', a, b] = route;
  const nav = admin
    ? [['mailboxes', 'Mailboxes'], ['users', 'Users'], ['sessions', 'Sessions'], ['server', 'Server'], ...(chaos ? [['chaos', 'Chaos']] : [])]
    : [[`mailbox/${who.user}`, 'My mailbox']];
  let body;
  if (page === 'mailboxes') body = <MailboxesPage />;
  else if (page === 'mailbox' && b) body = <MessagePage user={a ?? ''} id={b} />;
  else if (page === 'mailbox') body = <MessagesPage user={a ?? (who.kind === 'user' ? who.user : '')} />;
  else if (page === 'users' && admin) body = <UsersPage />;
  else if (page === 'sessions' && admin) body = <SessionsPage />;
  else if (page === 'server' && admin) body = <ServerPage />;
  else if (page === 'chaos' && admin && chaos === undefined) body = <p class="loading">Loading…</p>;
  else if (page === 'chaos' && admin && chaos) body = <ChaosPage />;
  else body = <p class="error">No such page.</p>;
  return (
    <>
      <header>
        <a class="brand" href="#/">postel</a>
        <nav data-chaos={admin ? String(chaos ?? 'unknown') : undefined}>
          {nav.map(([href, label]) => (
            <a href={`#/${href}`} aria-current={page === href?.split('/')[0] ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class="who">{who.kind === 'admin' ? 'admin' : who.user}</span>
        <button type="button" onClick={() => (signOut(), setWho(null), (location.hash = ''))}>Sign out</button>
      </header>
      <main>{body}</main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
