import { useEffect, useState } from 'preact/hooks';
import { getJson } from '../api.js';

interface Sample {
  time: string;
  values: Record<string, number>;
}

/** A counter's increase per sample, as a small SVG line. */
function Chart({ name, samples }: { name: string; samples: Sample[] }) {
  const totals = samples.map((s) => s.values[name] ?? 0);
  const deltas = totals.slice(1).map((v, i) => Math.max(0, v - (totals[i] ?? 0)));
  const max = Math.max(1, ...deltas);
  const w = 240;
  const h = 60;
  const points = deltas.map((d, i) => `${(i / Math.max(1, deltas.length - 1)) * w},${h - (d / max) * (h - 4) - 2}`).join(' ');
  return (
    <figure class="chart">
      <figcaption>
        {name} <span class="small">(last: {deltas.at(-1) ?? 0}/min, max {max})</span>
      </figcaption>
      <svg viewBox={`0 0 ${w} ${h}`} width={w} height={h} role="img" aria-label={name}>
        <polyline points={points} fill="none" stroke="currentColor" stroke-width="2" />
      </svg>
    </figure>
  );
}

export function ServerPage() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState('');
  useEffect(() => {
    const load = (): void => void getJson<{ samples: Sample[] }>('/api/v1/metrics/history').then((h) => setSamples(h.samples), (err: Error) => setError(err.message));
    load();
    const timer = setInterval(load, 60_000);
    return () => clearInterval(timer);
  }, []);
  const names = [...new Set(samples.flatMap((s) => Object.keys(s.values)))].sort();
  return (
    <section>
      <h1>Server</h1>
      {error && <p class="error" role="alert">{error}</p>}
      <h2>Last hour</h2>
      {samples.length < 2 && <p>Charts appear after the first two one-minute samples.</p>}
      <div class="charts">{samples.length >= 2 && names.map((n) => <Chart name={n} samples={samples} />)}</div>
    </section>
  );
}
