import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// From dist/src/wasm/ back to the repository.
const repo = fileURLToPath(new URL('../../../', import.meta.url));

/** scripts/build-wasm.mjs, a plain .mjs loaded at run time: its exports are typed here. */
interface WasmBuild {
  watFiles(): string[];
  wasmTarget(source: string): string;
  compileWat(name: string, text: string): Promise<Uint8Array>;
}

test('every shipped WebAssembly module is its .wat source compiled', async () => {
  const build = (await import(join(repo, 'scripts/build-wasm.mjs'))) as WasmBuild;
  const sources = build.watFiles();
  assert.ok(sources.some((s) => s.endsWith('framing-kernel.wat')) && sources.some((s) => s.endsWith('list-lines.wat')));
  for (const source of sources) {
    const rel = relative(repo, source);
    const shipped = readFileSync(build.wasmTarget(source));
    const compiled = await build.compileWat(rel, readFileSync(source, 'utf8'));
    assert.ok(compiled.length > 100, rel);
    assert.deepEqual(new Uint8Array(shipped), compiled, `${rel}: the .wasm in dist is stale: run npm run build`);
  }
});
