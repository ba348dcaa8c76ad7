import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PostelApp } from './app.js';

/** Where the build (`vite build console`, run by prepare) puts the console: dist/console. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../console', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

/**
 * The console's own policy: its code only from here, no inline script. A message's frame
 * (srcdoc) inherits this policy on top of its own stricter one, so two sources are wider than
 * the console needs: inline styles, without which mail HTML is unreadable, and remote images,
 * which the frame's own policy blocks until the viewer asks.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  'img-src data: blob: http: https:',
  "frame-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Serves the built console at / and /assets/*. The page itself needs no credentials; every
 * API call it makes does. Asset names carry a content hash, so they are cached for good.
 */
export function registerConsole(app: PostelApp, dir = CONSOLE_DIR): void {
  const send = async (file: string, cache: string): Promise<Response> => {
    let body: Buffer;
    try {
      body = await readFile(join(dir, file));
    } catch {
      return new Response(file === 'index.html' ? 'The console is not built: run npm install (or npm run build).\n' : 'not found\n', {
        status: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS },
      });
    }
    return new Response(new Uint8Array(body), { headers: { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': cache, ...SECURITY_HEADERS } });
  };
  app.get('/', () => send('index.html', 'no-cache'));
  // Only flat, hashed names from the build: no path can leave the folder.
  app.get('/assets/:name{[A-Za-z0-9_.-]+}', (c) => {
    const name = c.req.param('name');
    if (name.startsWith('.')) return c.json({ error: { code: 'not_found', message: 'no such asset' } }, 404);
    return send(join('assets', name), 'public, max-age=31536000, immutable');
  });
}
