import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createFileExclusive, replaceFileAtomic, writeFileDurable } from './durable.js';
import { classifyFsError, isNoSpace } from './errno.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postel-fs-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('durable writes', () => {
  it('replaceFileAtomic replaces the content with an exact mode and leaves no temp file', async () => {
    const path = join(dir, 'replace');
    await writeFile(path, 'old', { mode: 0o644 });
    await replaceFileAtomic(path, 'new', { mode: 0o600 });
    assert.equal(await readFile(path, 'utf8'), 'new');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('replace')), ['replace']);
  });

  it('replaceFileAtomic removes its temp file when the rename fails', async () => {
    const sub = join(dir, 'rename-fails');
    await mkdir(join(sub, 'target'), { recursive: true });
    await assert.rejects(replaceFileAtomic(join(sub, 'target'), 'x'), { code: 'EISDIR' });
    assert.deepEqual(await readdir(sub), ['target']);
  });

  it('writeFileDurable refuses an existing file and leaves it alone', async () => {
    const path = join(dir, 'durable');
    await writeFileDurable(path, 'first');
    await assert.rejects(writeFileDurable(path, 'second'), { code: 'EEXIST' });
    assert.equal(await readFile(path, 'utf8'), 'first');
  });

  it('createFileExclusive creates once and reports an existing file as false', async () => {
    const path = join(dir, 'exclusive');
    assert.equal(await createFileExclusive(path, 'a\n'), true);
    assert.equal(await createFileExclusive(path, 'b\n'), false);
    assert.equal(await readFile(path, 'utf8'), 'a\n');
    assert.deepEqual((await readdir(dir)).filter((n) => n.includes('exclusive')), ['exclusive']);
  });
});

describe('errno classes', () => {
  it('counts a full disk and a full quota as temporary, permissions and missing paths as permanent', () => {
    for (const code of ['ENOSPC', 'EDQUOT', 'EIO', 'EMFILE', 'EROFS']) assert.equal(classifyFsError({ code }), 'temporary', code);
    for (const code of ['EACCES', 'EPERM', 'ENOENT', 'ENOTDIR', 'ELOOP']) assert.equal(classifyFsError({ code }), 'permanent', code);
    assert.equal(classifyFsError(new Error('no errno')), 'permanent');
    assert.ok(isNoSpace({ code: 'EDQUOT' }));
    assert.ok(!isNoSpace({ code: 'EIO' }));
  });
});
