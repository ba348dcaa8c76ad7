import { readFileSync } from 'node:fs';

/*
 * The WebAssembly modules postel ships are compiled at build time from .wat sources
 * (scripts/build-wasm.mjs) into .wasm files beside the JavaScript that loads them.
 */

// tsconfig's lib (ES2023, no DOM) does not declare WebAssembly, which Node has: only the
// little used here is declared.
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => WasmModule;
  readonly Instance: new (module: WasmModule) => { readonly exports: Record<string, unknown> };
};

/** A compiled module, instantiated as often as needed. */
export interface WasmModule {
  readonly __brand?: 'WebAssembly.Module';
}

/** A module's exported memory. */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  /** Adds pages of 64 KiB; returns the previous size in pages. */
  grow(pages: number): number;
}

/**
 * Compiles the .wasm file at `url`; null when it cannot run here (no WebAssembly or no SIMD,
 * as under node --jitless, or a build without the file): callers fall back to JavaScript,
 * and the tests of each module fail on a build without it.
 */
export function compileWasm(url: URL): WasmModule | null {
  try {
    return new WebAssembly.Module(readFileSync(url));
  } catch {
    return null;
  }
}

/** A new instance of `module` (its own memory); its exports. */
export function instantiateWasm(module: WasmModule): Record<string, unknown> {
  return new WebAssembly.Instance(module).exports;
}
