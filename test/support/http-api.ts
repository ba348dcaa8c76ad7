import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { TestServer } from '../../src/testing/index.js';

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  readonly json: unknown;
}

export type Credentials = { readonly bearer: string } | { readonly basic: readonly [string, string] } | null;

/** One request to the API of a running test server. */
export async function api(
  server: TestServer,
  method: string,
  path: string,
  options: { auth?: Credentials; body?: unknown; rawBody?: string | Uint8Array; contentType?: string } = {},
): Promise<ApiResponse> {
  const auth = options.auth === undefined ? { bearer: server.http.token } : options.auth;
  const headers: Record<string, string> = {};
  if (auth && 'bearer' in auth) headers.authorization = `Bearer ${auth.bearer}`;
  if (auth && 'basic' in auth) headers.authorization = `Basic ${Buffer.from(`${auth.basic[0]}:${auth.basic[1]}`).toString('base64')}`;
  let body: string | Uint8Array | undefined;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] = 'application/json';
  }
  if (options.rawBody !== undefined) {
    body = options.rawBody;
    headers['content-type'] = options.contentType ?? 'application/json';
  }
  const res = await fetch(`${server.http.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/**
 * Checks response bodies against the server's own OpenAPI document with an independent
 * JSON Schema validator (ajv, draft 2020-12, as OpenAPI 3.1 uses).
 */
export class SchemaChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });

  constructor(document: Record<string, unknown>) {
    this.ajv.addSchema({ ...document, $id: 'api' });
  }

  /** The checker for a running server's own document, read without credentials as any client would. */
  static async of(server: TestServer): Promise<SchemaChecker> {
    const doc = await api(server, 'GET', '/api/v1/openapi.json', { auth: null });
    assert.equal(doc.status, 200, 'GET /api/v1/openapi.json');
    return new SchemaChecker(doc.json as Record<string, unknown>);
  }

  /** Throws with ajv's errors when `body` does not fit the documented response. */
  check(method: string, path: string, status: number, body: unknown, contentType = 'application/json'): void {
    const pointer = ['paths', path, method.toLowerCase(), 'responses', String(status), 'content', contentType, 'schema']
      .map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('/');
    const validate = this.ajv.getSchema(`api#/${pointer}`);
    if (!validate) throw new Error(`no schema documented for ${method} ${path} ${status}`);
    if (!validate(body)) throw new Error(`${method} ${path} ${status}: ${JSON.stringify(validate.errors)}\n${JSON.stringify(body).slice(0, 500)}`);
  }
}

/** Reads Server-Sent Events from a response until `stop` says so. */
export async function readEvents(res: Response, stop: (events: { event: string; data: Record<string, unknown> }[]) => boolean): Promise<{ event: string; data: Record<string, unknown> }[]> {
  const events: { event: string; data: Record<string, unknown> }[] = [];
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  while (!stop(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) as Record<string, unknown> });
    }
  }
  await reader.cancel();
  return events;
}

/** Opens the events stream and resolves once the server has subscribed it. */
export async function openEvents(server: Pick<TestServer, 'http'>, query = '', auth = `Bearer ${server.http.token}`): Promise<{ res: Response; abort: AbortController }> {
  const abort = new AbortController();
  const res = await fetch(`${server.http.url}/api/v1/events${query}`, { headers: { authorization: auth }, signal: abort.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  return { res, abort };
}
