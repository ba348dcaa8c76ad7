import { test } from 'node:test';
import { serveFromPostgres } from './support/postgres-servers.js';

// interop-poplib.test.ts once more, against a PostgreSQL-backed postel.
const skip = await serveFromPostgres();
if (skip !== undefined) test('poplib against a PostgreSQL-backed postel', { skip }, () => undefined);
else await import('./interop-poplib.test.js');
