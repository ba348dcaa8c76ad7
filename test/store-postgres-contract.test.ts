import { after, before, describe } from 'node:test';
import postgres from 'postgres';
import { postgresUnavailable, startPostgres, type PostgresCluster } from './support/postgres.js';
import { mailStoreContract } from '../src/store/contract.js';
import { migrate } from '../src/store/postgres/migrations.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';

const skip = postgresUnavailable();

describe('PostgresStore on a real PostgreSQL', { skip }, () => {
  let cluster: PostgresCluster;
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  mailStoreContract('PostgresStore', async () => {
    const url = await cluster.createDatabase();
    const admin = postgres(url, { onnotice: () => undefined });
    await migrate(admin);
    await admin.end();
    const store = new PostgresStore({ url, leaseSeconds: 30 });
    return { store, cleanup: () => store.close() };
  });
});
