#!/usr/bin/env node
// Compiles the WebAssembly text sources under src/ (*.wat) into dist/src/**/*.wasm, beside
// the JavaScript that loads them. Part of `npm run build` (and of `npm test`'s build): the
// .wat is what people read and review, the .wasm is what runs, and
// src/wasm/shipped.test.ts checks the shipped bytes against a fresh compilation.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The WebAssembly features the sources may use; anything else is a compile error. */
const FEATURES = { simd: true };

/** The binary module compiled from a .wat source text. */
export async function compileWat(name, text) {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(name, text, FEATURES);
  try {
    parsed.resolveNames();
    parsed.validate();
    return Uint8Array.from(parsed.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    parsed.destroy();
  }
}

/** Every .wat source under `dir`. */
export function watFiles(dir = join(root, 'src')) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return watFiles(path);
    return d.name.endsWith('.wat') ? [path] : [];
  });
}

/** Where the build writes the module compiled from `source`: dist/src/**\/*.wasm. */
export function wasmTarget(source) {
  return join(root, 'dist', relative(root, source).replace(/\.wat$/, '.wasm'));
}

/** Compiles every src/**\/*.wat to dist/src/**\/*.wasm. */
export async function buildWasm() {
  for (const source of watFiles()) {
    const target = wasmTarget(source);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, await compileWat(relative(root, source), readFileSync(source, 'utf8')));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await buildWasm();
