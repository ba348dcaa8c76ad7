import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { spool } from './spool.js';

describe('spool', () => {
  it('makes its directory when it is missing, at the first message and after it was removed', async () => {
    const base = await mkdtemp(join(tmpdir(), 'postel-spool-'));
    try {
      const dir = join(base, 'data', 'spool');
      const first = await spool(Readable.from([Buffer.from('Subject: a\r\n\r\none\r\n')]), dir);
      assert.equal(await readFile(first.path, 'latin1'), 'Subject: a\r\n\r\none\r\n');
      await rm(join(base, 'data'), { recursive: true });
      const second = await spool(Readable.from([Buffer.from('Subject: b\r\n\r\ntwo\r\n')]), dir);
      assert.equal(second.size, 19);
      assert.equal(second.storedSize, 16);
      await second.remove();
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
