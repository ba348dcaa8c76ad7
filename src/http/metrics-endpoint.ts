import type { AddressInfo } from 'node:net';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { HttpService, isLoopbackHost } from './server.js';

export class MetricsEndpointError extends Error {
  override readonly name = 'MetricsEndpointError';
}

/**
 * GET /metrics for one registry on a loopback address (no authentication, so nothing else):
 * what `postel fetch --daemon` serves to a Prometheus on the same host.
 */
export async function serveMetrics(registry: Registry, where: { host: string; port: number }): Promise<{ address: AddressInfo; close(): Promise<void> }> {
  if (!isLoopbackHost(where.host)) throw new MetricsEndpointError(`metrics are served on loopback only (127.0.0.1 or ::1), not ${where.host}`);
  const app = new Hono();
  app.get('/metrics', async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }));
  app.notFound((c) => c.text('not found\n', 404));
  const service = new HttpService(app, { host: where.host, port: where.port });
  const address = await service.listen();
  return { address, close: () => service.close() };
}

/** `HOST:PORT` or `[V6]:PORT`, as --metrics-listen and metrics_listen take it. */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || !(port >= 0 && port <= 65535)) throw new MetricsEndpointError(`"${text}" is not HOST:PORT (e.g. 127.0.0.1:9125)`);
  return { host: (match[1] ?? match[2]) as string, port };
}
