import { test } from 'node:test';
import { serveFromPostgres } from './support/postgres-servers.js';

// interop-sasl.test.ts once more, against a PostgreSQL-backed postel.
const skip = await serveFromPostgres();
if (skip !== undefined) test('SASL clients (curl, mpop) against a PostgreSQL-backed postel', { skip }, () => undefined);
else await import('./interop-sasl.test.js');
