import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { frameLines, framingKernelAvailable } from './framing-kernel.js';

// From dist/src/message/ back to the repository.
const repo = new URL('../../../', import.meta.url);

test('the shipped framing kernel is framing-kernel.wat compiled', async () => {
  const source = readFileSync(new URL('src/message/framing-kernel.wat', repo), 'utf8');
  const shipped = readFileSync(new URL('./framing-kernel.wasm', import.meta.url));
  // A plain .mjs build script, loaded at run time: its export is typed here.
  const build = (await import(new URL('scripts/build-wasm.mjs', repo).href)) as { compileWat: (name: string, text: string) => Promise<Uint8Array> };
  const compiled = await build.compileWat('framing-kernel.wat', source);
  assert.ok(compiled.length > 100);
  assert.deepEqual(new Uint8Array(shipped), compiled, 'dist/src/message/framing-kernel.wasm is stale: run npm run build');
});

test('the framing kernel loads and frames', () => {
  assert.equal(framingKernelAvailable(), true);
  const framed = frameLines(Buffer.from('a\n.b\r\nc'), 10);
  assert.equal(framed.toString('latin1'), 'a\r\n..b\r\nc');
});
