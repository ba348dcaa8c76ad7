import { createRoute, z } from '@hono/zod-openapi';
import type { MetricsHistory } from '../../metrics/history.js';
import type { PostelApp } from '../app.js';
import { requireAdmin } from '../context.js';
import { adminSecurity, errorResponses, json } from '../schemas.js';

export interface HealthDeps {
  /** Whether the store answers (readyz). */
  readonly ready: () => Promise<boolean>;
  /** The Prometheus text exposition, aggregated over POP3 workers. */
  readonly metricsText: () => Promise<{ contentType: string; text: string }>;
  readonly history: MetricsHistory;
}

/** A store that takes longer than this to answer is not ready (probes give up after a few seconds). */
const READY_TIMEOUT_MS = 3000;

function withinReadyTimeout(check: Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), READY_TIMEOUT_MS);
  });
  return Promise.race([check.catch(() => false), late]).finally(() => clearTimeout(timer));
}

const Status = z.object({ status: z.string() }).openapi('Status');

export function registerHealth(app: PostelApp, deps: HealthDeps): void {
  app.openapi(createRoute({ method: 'get', path: '/livez', summary: 'The process is up', responses: { 200: json(Status, 'alive') } }), (c) => c.json({ status: 'ok' }, 200));

  app.openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      summary: 'The store is reachable',
      responses: { 200: json(Status, 'ready'), 503: json(Status, 'not ready') },
    }),
    async (c) => ((await withinReadyTimeout(deps.ready())) ? c.json({ status: 'ok' }, 200) : c.json({ status: 'store unavailable' }, 503)),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/metrics',
      summary: 'Prometheus metrics (text exposition format)',
      responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: z.string() } } } },
    }),
    async (c) => {
      const { contentType, text } = await deps.metricsText();
      return c.text(text, 200, { 'content-type': contentType });
    },
  );

  const Sample = z.object({ time: z.string(), values: z.record(z.string(), z.number()) }).openapi('MetricsSample');
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/v1/metrics/history',
      summary: 'The last 60 one-minute samples of the main counters',
      security: adminSecurity,
      responses: { 200: json(z.object({ samples: z.array(Sample) }), 'samples, oldest first'), ...errorResponses },
    }),
    (c) => {
      requireAdmin(c);
      return c.json({ samples: [...deps.history.list()] }, 200);
    },
  );
}
