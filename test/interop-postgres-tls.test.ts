import { test } from 'node:test';
import { serveFromPostgres } from './support/postgres-servers.js';

// interop-tls.test.ts once more, against a PostgreSQL-backed postel.
const skip = await serveFromPostgres();
if (skip !== undefined) test('TLS clients (openssl, curl, poplib, fetchmail) against a PostgreSQL-backed postel', { skip }, () => undefined);
else await import('./interop-tls.test.js');
