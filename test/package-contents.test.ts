import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/*
 * What `npm pack` would publish: the CLI and the built modules it runs, their type
 * declarations and the README; no tests, fixtures, test suites or source maps.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function packList(): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    // --ignore-scripts: `prepare` would rebuild dist/ under the running tests.
    const child = spawn('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`npm pack exited with ${code}`));
      const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
      resolvePromise((pack?.files ?? []).map((f) => f.path).sort());
    });
  });
}

describe('the npm package ships only what runs', () => {
  it('has the CLI, the built modules (the WebAssembly kernel too) and README, and no tests, fixtures, contract suite or source maps', async () => {
    const files = await packList();
    assert.ok(files.includes('bin/postel'));
    assert.ok(files.includes('dist/src/index.js') && files.includes('dist/src/index.d.ts'));
    assert.ok(files.includes('dist/src/cli/main.js'));
    // The framing kernel, compiled from its .wat at build time.
    assert.ok(files.includes('dist/src/message/framing-kernel.wasm'));
    assert.ok(files.includes('dist/console/index.html'), 'the built web console ships');
    const stray = files.filter((f) => !/^(bin\/postel|README\.md|package\.json|dist\/src\/.+\.(js|d\.ts|wasm)|dist\/console\/(index\.html|assets\/[\w.-]+\.(js|css)))$/.test(f) || /\.test\.|\.fixture\.|\/store\/contract\./.test(f));
    assert.deepEqual(stray, []);
  });
  it('no shipped module imports the test runner', async () => {
    for (const file of (await packList()).filter((f) => f.endsWith('.js'))) {
      assert.doesNotMatch(await readFile(join(ROOT, file), 'utf8'), /from ['"]node:test['"]/, file);
    }
  });
});
