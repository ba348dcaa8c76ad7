import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { maildropUsage } from './usage.js';

describe('maildropUsage', () => {
  it('adds up S= sizes from file names in new/ and cur/, stat-ing only names without one', async () => {
    const root = await mkdtemp(join(tmpdir(), 'postel-quota-'));
    try {
      await mkdir(join(root, 'u', 'new'), { recursive: true });
      await mkdir(join(root, 'u', 'cur'), { recursive: true });
      await writeFile(join(root, 'u', 'new', '1.M1P1.host,S=100,W=110'), 'not 100 bytes');
      await writeFile(join(root, 'u', 'cur', '2.M2P2.host,S=50:2,S'), 'x');
      await writeFile(join(root, 'u', 'cur', '3.dropped-by-hand'), '1234567');
      assert.equal(await maildropUsage(join(root, 'u')), 157);
      assert.equal(await maildropUsage(join(root, 'nobody')), 0);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
