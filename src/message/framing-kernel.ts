import { compileWasm, instantiateWasm, type WasmMemory } from '../wasm/load.js';

/*
 * The inner loop of RETR: stored bytes to POP3 wire bytes (a bare LF becomes CRLF, a '.' at
 * the start of a line is doubled). In JavaScript it costs a builtin call or two per line,
 * about 3 ms per MB, three quarters of what a large RETR costs the server. The same loop in
 * WebAssembly moves 16 bytes at a time when they hold no LF, which is most of any text, and
 * handles the others LF by LF: several times faster.
 *
 * Its source is framing-kernel.wat beside this file, compiled at build time
 * (scripts/build-wasm.mjs) into framing-kernel.wasm beside the compiled JavaScript; this
 * module loads that file and copies chunks in and out of the kernel's memory.
 */

/** Largest chunk framed in one call; longer input is framed in pieces. */
const CAPACITY = 256 * 1024;
/** Where the input starts (in[-1] is the previous byte; 16 keeps the input aligned). */
const IN = 16;
/** Where the output starts: after the input and 16 bytes that a 16-byte load may read. */
const OUT = IN + CAPACITY + 16;
/** Memory the module must have (the .wat declares it): the output may be twice the input. */
const MEMORY_NEEDED = OUT + 2 * CAPACITY + 16;

const KERNEL_FILE = new URL('./framing-kernel.wasm', import.meta.url);

interface Kernel {
  readonly frame: (input: number, length: number, output: number) => number;
  readonly bytes: Uint8Array;
}

let kernel: Kernel | null | undefined;

function load(): Kernel | null {
  if (kernel !== undefined) return kernel;
  const module = compileWasm(KERNEL_FILE);
  if (module === null) return (kernel = null);
  const exports = instantiateWasm(module) as { frame: Kernel['frame']; memory: WasmMemory };
  // The memory never grows, so this view stays valid. Too small would be a build fault:
  // framing-kernel.test.ts fails then, and the server frames in JavaScript.
  const bytes = new Uint8Array(exports.memory.buffer);
  kernel = bytes.length < MEMORY_NEEDED ? null : { frame: exports.frame, bytes };
  return kernel;
}

/** Whether frameLines can run here. */
export function framingKernelAvailable(): boolean {
  return load() !== null;
}

/** Bytes an output buffer needs to hold the framing of any chunk of up to CAPACITY bytes. */
export const FRAMED_CAPACITY = 2 * CAPACITY + 2;

/**
 * Frames `chunk` for the wire: CR before every LF not already preceded by one, '.' before
 * every '.' that starts a line. `previous` is the byte before the chunk (LF at the start of
 * a message). The result goes into `into` from offset `at` when it fits (a view of it is
 * returned), else into a new buffer. Throws if the kernel is unavailable.
 */
export function frameLines(chunk: Uint8Array, previous: number, into?: Buffer, at = 0): Buffer {
  const k = load();
  if (k === null) throw new Error('framing kernel unavailable');
  if (chunk.length <= CAPACITY) return framePiece(k, chunk, previous, into, at);
  const pieces: Buffer[] = [];
  for (let from = 0; from < chunk.length; from += CAPACITY) {
    pieces.push(framePiece(k, chunk.subarray(from, from + CAPACITY), from === 0 ? previous : (chunk[from - 1] as number)));
  }
  return Buffer.concat(pieces);
}

function framePiece(k: Kernel, piece: Uint8Array, previous: number, into?: Buffer, at = 0): Buffer {
  k.bytes[IN - 1] = previous;
  k.bytes.set(piece, IN);
  const length = k.frame(IN, piece.length, OUT);
  // A copy: the kernel's memory is reused by the next call while this may still be queued.
  const framed = k.bytes.subarray(OUT, OUT + length);
  if (into === undefined || into.length - at < length) return Buffer.from(framed);
  into.set(framed, at);
  return into.subarray(at, at + length);
}
