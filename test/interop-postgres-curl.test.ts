import { test } from 'node:test';
import { serveFromPostgres } from './support/postgres-servers.js';

// interop-curl.test.ts once more, against a PostgreSQL-backed postel.
const skip = await serveFromPostgres();
if (skip !== undefined) test('curl against a PostgreSQL-backed postel', { skip }, () => undefined);
else await import('./interop-curl.test.js');
