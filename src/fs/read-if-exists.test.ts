import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readFileIfExists } from './read-if-exists.js';

describe('readFileIfExists', () => {
  it('gives the contents of a file, null for a missing one, and throws any other error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'postel-read-'));
    try {
      await writeFile(join(dir, 'present'), 'caf\u00e9\n');
      assert.equal(await readFileIfExists(join(dir, 'present'), 'utf8'), 'caf\u00e9\n');
      assert.deepEqual(await readFileIfExists(join(dir, 'present')), Buffer.from('caf\u00e9\n'));
      assert.equal(await readFileIfExists(join(dir, 'missing'), 'utf8'), null);
      assert.equal(await readFileIfExists(join(dir, 'missing')), null);
      await assert.rejects(readFileIfExists(dir, 'utf8'), { code: 'EISDIR' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
