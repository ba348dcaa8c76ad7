import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// From dist/src/wasm/ back to the repository.
const repo = fileURLToPath(new URL('../../../', import.meta.url));

function watFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return watFiles(path);
    return d.name.endsWith('.wat') ? [path] : [];
  });
}

test('every shipped WebAssembly module is its .wat source compiled', async () => {
  // A plain .mjs build script, loaded at run time: its export is typed here.
  const build = (await import(join(repo, 'scripts/build-wasm.mjs'))) as { compileWat: (name: string, text: string) => Promise<Uint8Array> };
  const sources = watFiles(join(repo, 'src'));
  assert.ok(sources.some((s) => s.endsWith('framing-kernel.wat')) && sources.some((s) => s.endsWith('list-lines.wat')));
  for (const source of sources) {
    const rel = relative(repo, source);
    const shipped = readFileSync(join(repo, 'dist', rel.replace(/\.wat$/, '.wasm')));
    const compiled = await build.compileWat(rel, readFileSync(source, 'utf8'));
    assert.ok(compiled.length > 100, rel);
    assert.deepEqual(new Uint8Array(shipped), compiled, `${rel}: the .wasm in dist is stale: run npm run build`);
  }
});
