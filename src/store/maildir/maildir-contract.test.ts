import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mailStoreContract } from '../contract.js';
import { MaildirStore } from './maildir-store.js';

mailStoreContract('MaildirStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'postel-contract-'));
  return {
    store: new MaildirStore({ root, hostname: 'contract.test' }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
