import { useEffect, useState } from 'preact/hooks';
import { formatDate, formatSize, getJson } from '../api.js';

interface Sample {
  time: string;
  values: Record<string, number>;
}

export interface ServerInfo {
  startedAt: string;
  listening: { service: string; where: string; port: number | null; tls: string }[];
  certificates: { file: string; default: boolean; names: string[]; subject: string; issuer: string; validFrom: string; validTo: string; daysLeft: number; fingerprint256: string }[];
  store: { kind: string; bytes: number; mailboxes: number };
  chaosEnabled: boolean;
}

/** The charts: a title and the counter behind it (see src/metrics/history.ts). */
const CHARTS: [string, string, (n: number) => string][] = [
  ['Messages in', 'postel_smtp_messages_total', String],
  ['POP3 sessions', 'postel_pop3_connections_total', String],
  ['RETR bytes', 'postel_pop3_retr_bytes_total', formatSize],
  ['Auth failures', 'postel_auth_failures_total', String],
];

/** A counter's increase from one sample to the next, as small SVG bars (one per minute). */
function Chart({ title, series, samples, format }: { title: string; series: string; samples: Sample[]; format: (n: number) => string }) {
  const totals = samples.map((s) => s.values[series] ?? 0);
  const deltas = totals.slice(1).map((v, i) => Math.max(0, v - (totals[i] ?? 0)));
  const max = Math.max(1, ...deltas);
  const w = 240;
  const h = 60;
  // Room for the 59 increases of a full hour; the newest stands at the right edge.
  const slot = w / 59;
  return (
    <figure class="chart" data-series={series} data-deltas={deltas.join(',')}>
      <figcaption>
        {title} <span class="small">(last: {format(deltas.at(-1) ?? 0)}/min, max {format(deltas.length ? max : 0)})</span>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={`${title}: ${deltas.map(format).join(', ')}`}>
        <line x1="0" y1={h - 0.5} x2={w} y2={h - 0.5} stroke="currentColor" stroke-opacity="0.3" />
        {deltas.map((d, i) => {
          const bar = d === 0 ? 0 : Math.max(1, (d / max) * (h - 2));
          return <rect x={w - (deltas.length - i) * slot + 0.5} y={h - bar} width={Math.max(1, slot - 1)} height={bar} fill="currentColor" />;
        })}
      </svg>
    </figure>
  );
}

export function ServerPage() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [info, setInfo] = useState<ServerInfo | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const load = (): void => {
      getJson<{ samples: Sample[] }>('/api/v1/metrics/history').then((h) => setSamples(h.samples), (err: Error) => setError(err.message));
      getJson<ServerInfo>('/api/v1/server').then(setInfo, (err: Error) => setError(err.message));
    };
    load();
    const timer = setInterval(load, 60_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <section>
      <h1>Server</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <h2>Last hour</h2>
      {samples.length < 2 && <p>Charts appear after the first two one-minute samples.</p>}
      <div class="charts" data-samples={samples.length}>
        {samples.length >= 2 && CHARTS.map(([title, series, format]) => <Chart title={title} series={series} samples={samples} format={format} />)}
      </div>
      {info && (
        <>
          <h2>Store</h2>
          <p id="store" data-kind={info.store.kind} data-bytes={info.store.bytes}>
            {info.store.kind === 'postgres' ? 'PostgreSQL' : 'Maildir'}: {formatSize(info.store.bytes)} in {info.store.mailboxes} mailbox{info.store.mailboxes === 1 ? '' : 'es'}
            {' · '}up since {formatDate(info.startedAt)}
          </p>
          <h2>Listening</h2>
          <div class="scroll">
            <table class="grid" id="ports">
              <thead>
                <tr>
                  <th>Service</th>
                  <th>Address</th>
                  <th>TLS</th>
                </tr>
              </thead>
              <tbody>
                {info.listening.map((l) => (
                  <tr data-service={l.service} data-port={l.port ?? ''}>
                    <td>{l.service}</td>
                    <td>{l.where}</td>
                    <td>{l.tls}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>TLS certificates</h2>
          <div class="scroll">
            <table class="grid" id="certificates">
              <thead>
                <tr>
                  <th>Names</th>
                  <th>Expires</th>
                  <th>Issuer</th>
                  <th>File</th>
                </tr>
              </thead>
              <tbody>
                {info.certificates.map((c) => (
                  <tr data-valid-to={c.validTo} class={c.daysLeft < 14 ? 'warn' : ''}>
                    <td class="names">
                      {c.names.join(', ')}
                      {c.default ? ' (default)' : ''}
                    </td>
                    <td>
                      {formatDate(c.validTo)} ({c.daysLeft} days)
                    </td>
                    <td class="small">{c.issuer}</td>
                    <td class="small uidl">{c.file}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
