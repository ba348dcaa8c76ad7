import { compileWasm, instantiateWasm, type WasmMemory, type WasmModule } from '../../wasm/load.js';

/*
 * LIST's body for a whole maildrop, "n size\r\n" per message, written by list-lines.wat (see
 * there why not JavaScript).
 */

/** Bytes of one line at most: two numbers of up to 10 digits (u32), a space and CRLF. */
const LINE_MAX = 23;
const PAGE = 64 * 1024;

// Compiled when the server starts (a millisecond or two), not at the first LIST.
const module: WasmModule | null = compileWasm(new URL('./list-lines.wasm', import.meta.url));

/**
 * The lines for `count` messages whose sizes `fill` writes into the array it is given
 * (returning false when one does not fit in 32 bits); null then, or when WebAssembly is not
 * available here: the caller writes them in JavaScript.
 */
export function listLines(count: number, fill: (sizes: Uint32Array) => boolean): Buffer | null {
  if (module === null) return null;
  // An instance per call: its memory, a few MB for a big maildrop, goes when the lines do.
  const exports = instantiateWasm(module) as { memory: WasmMemory; lines: (count: number, out: number) => number };
  const out = count * 4;
  const needed = out + count * LINE_MAX;
  const pages = Math.ceil(needed / PAGE) - exports.memory.buffer.byteLength / PAGE;
  if (pages > 0) exports.memory.grow(pages);
  if (!fill(new Uint32Array(exports.memory.buffer, 0, count))) return null;
  const length = exports.lines(count, out);
  // The lines stay where they were written, in this instance's memory (no other call uses
  // it): a copy would touch another MB of fresh memory, whose page faults cost as much as
  // writing the lines did.
  return Buffer.from(exports.memory.buffer, out, length);
}
