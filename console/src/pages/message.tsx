import { useEffect, useState } from 'preact/hooks';
import { formatDate, formatSize, getJson, request, send } from '../api.js';

interface Attachment {
  index: number;
  filename: string | null;
  contentType: string;
  size: number;
  contentId: string | null;
}

interface Message {
  id: string;
  from: string;
  to: string;
  cc: string;
  subject: string;
  date: string | null;
  size: number;
  messageId: string | null;
  text: string | null;
  html: string | null;
  attachments: Attachment[];
}

type Tab = 'html' | 'text' | 'headers' | 'raw' | 'attachments';

/**
 * The message's HTML as a document for a sandboxed frame. A message is attacker-controlled:
 * the frame gets no scripts, forms or same-origin access (sandbox=""), and this policy, first
 * in its head, allows only inline styles and, once the viewer asks, remote images.
 */
export function frameDocument(html: string, remoteImages: boolean): string {
  const images = remoteImages ? 'data: http: https:' : 'data:';
  const policy = `default-src 'none'; img-src ${images}; style-src 'unsafe-inline'; font-src data:; form-action 'none'; base-uri 'none'`;
  return `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="${policy}"><meta name="color-scheme" content="light"></head><body>${html}</body></html>`;
}

function blobUrl(path: string): Promise<string> {
  return request('GET', path)
    .then((r) => r.blob())
    .then((b) => URL.createObjectURL(b));
}

export function MessagePage({ user, id }: { user: string; id: string }) {
  const base = `/api/v1/mailboxes/${encodeURIComponent(user)}/messages/${encodeURIComponent(id)}`;
  const [message, setMessage] = useState<Message | null>(null);
  const [error, setError] = useState('');
  const [tab, setTab] = useState<Tab>('html');
  const [remote, setRemote] = useState(false);
  const [headers, setHeaders] = useState<{ name: string; value: string }[] | null>(null);
  const [raw, setRaw] = useState<string | null>(null);
  const [thumbs, setThumbs] = useState<Record<number, string>>({});

  useEffect(() => {
    getJson<Message>(base).then(
      (m) => {
        setMessage(m);
        if (!m.html) setTab('text');
      },
      (err: Error) => setError(err.message),
    );
  }, [base]);
  useEffect(() => {
    if (tab === 'headers' && !headers) getJson<{ headers: { name: string; value: string }[] }>(`${base}/headers`).then((h) => setHeaders(h.headers), (err: Error) => setError(err.message));
    if (tab === 'raw' && raw === null) request('GET', `${base}/raw`).then((r) => r.text()).then(setRaw, (err: Error) => setError(err.message));
    if (tab === 'attachments' && message) {
      for (const a of message.attachments) {
        if (a.contentType.startsWith('image/') && !thumbs[a.index]) {
          void blobUrl(`${base}/attachments/${a.index}`).then((url) => setThumbs((t) => ({ ...t, [a.index]: url })));
        }
      }
    }
  }, [tab, base, message]);

  const download = async (a: Attachment): Promise<void> => {
    const url = await blobUrl(`${base}/attachments/${a.index}`);
    const link = document.createElement('a');
    link.href = url;
    link.download = a.filename ?? `attachment-${a.index}`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  };
  const remove = async (): Promise<void> => {
    try {
      await send('DELETE', base);
      location.hash = `#/mailbox/${encodeURIComponent(user)}`;
    } catch (err) {
      setError((err as Error).message);
    }
  };

  if (error) return <p class="error" role="alert">{error}</p>;
  if (!message) return <p class="loading">Loading…</p>;
  const tabs: [Tab, string][] = [
    ['html', 'HTML'],
    ['text', 'Plain text'],
    ['headers', 'Headers'],
    ['raw', 'Raw source'],
    ['attachments', `Attachments (${message.attachments.length})`],
  ];
  return (
    <section class="message">
      <p>
        <a href={`#/mailbox/${encodeURIComponent(user)}`}>← {user}</a>
      </p>
      <h1>{message.subject || '(no subject)'}</h1>
      <dl class="envelope">
        <dt>From</dt>
        <dd>{message.from}</dd>
        <dt>To</dt>
        <dd>{message.to}</dd>
        {message.cc && (
          <>
            <dt>Cc</dt>
            <dd>{message.cc}</dd>
          </>
        )}
        <dt>Date</dt>
        <dd>{formatDate(message.date)}</dd>
        <dt>Size</dt>
        <dd>{formatSize(message.size)}</dd>
        <dt>UIDL</dt>
        <dd class="uidl">{message.id}</dd>
      </dl>
      <div class="toolbar">
        <button type="button" class="danger" onClick={() => void remove()}>
          Delete
        </button>
      </div>
      <div class="tabs" role="tablist">
        {tabs.map(([key, label]) => (
          <button type="button" role="tab" aria-selected={tab === key} onClick={() => setTab(key)}>
            {label}
          </button>
        ))}
      </div>
      <div class="tab-body" role="tabpanel">
        {tab === 'html' &&
          (message.html ? (
            <>
              {!remote && (
                <p class="notice">
                  Remote images are blocked. <button type="button" onClick={() => setRemote(true)}>Load remote images</button>
                </p>
              )}
              <iframe title="message HTML" class="html" sandbox="" referrerpolicy="no-referrer" srcdoc={frameDocument(message.html, remote)} />
            </>
          ) : (
            <p>This message has no HTML part.</p>
          ))}
        {tab === 'text' && <pre class="text">{message.text ?? '(no plain-text part)'}</pre>}
        {tab === 'headers' && (
          <table class="grid headers">
            <tbody>
              {(headers ?? []).map((h) => (
                <tr>
                  <th>{h.name}</th>
                  <td>{h.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {tab === 'raw' && <pre class="raw">{raw ?? 'Loading…'}</pre>}
        {tab === 'attachments' && (
          <ul class="attachments">
            {message.attachments.length === 0 && <li>No attachments.</li>}
            {message.attachments.map((a) => (
              <li>
                {thumbs[a.index] && <img class="thumb" src={thumbs[a.index]} alt={a.filename ?? ''} />}
                <span>
                  {a.filename ?? `attachment ${a.index}`} · {a.contentType} · {formatSize(a.size)}
                </span>
                <button type="button" onClick={() => void download(a)}>
                  Download
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    </section>
  );
}
