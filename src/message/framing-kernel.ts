/*
 * The inner loop of RETR: stored bytes to POP3 wire bytes (a bare LF becomes CRLF, a '.' at
 * the start of a line is doubled). In JavaScript it costs a builtin call or two per line,
 * about 3 ms per MB, three quarters of what a large RETR costs the server. This is the same
 * loop as a WebAssembly function that moves 16 bytes at a time when they hold no LF, which
 * is most of any text, and handles the others LF by LF: several times faster.
 *
 * The module is assembled here from the listing below, so the bytes can be read and
 * checked; there is no build step and no binary file. What it does, in WAT-like pseudocode
 * (in[-1] must hold the byte before the chunk: LF at the start of a message):
 *
 *   func $scalar(in, i, end, o) -> o          ;; byte by byte, for the last < 16 bytes
 *     while i < end:
 *       b = in[i]; p = in[i - 1]
 *       if b == LF and p != CR: out[o++] = CR
 *       if p == LF and b == '.': out[o++] = '.'
 *       out[o++] = b; i++
 *
 *   func "frame"(in, len, out) -> bytes written
 *     o = out
 *     while i + 16 <= len:
 *       v = v128.load(in + i); m = i8x16.bitmask(i8x16.eq(v, splat(LF)))
 *       if m == 0 and not (in[i - 1] == LF and in[i] == '.'):
 *         v128.store(o, v); o += 16                  ;; no line end in these 16 bytes
 *       else:
 *         pos = i; end = i + 16
 *         loop:                                      ;; one segment per LF
 *           if in[pos - 1] == LF and in[pos] == '.': out[o++] = '.'
 *           if m == 0: break
 *           lf = i + ctz(m); m &= m - 1
 *           v128.store(o, v128.load(in + pos)); o += lf - pos   ;; the text before the LF
 *           if in[lf - 1] != CR: out[o++] = CR
 *           out[o++] = LF; pos = lf + 1
 *           if pos >= end: break
 *         v128.store(o, v128.load(in + pos)); o += end - pos    ;; the rest of the block
 *       i += 16
 *     o = $scalar(in, i, len, o)
 *     return o - out
 *
 * 16-byte stores may write past what counts; the output area has room for that, and the
 * next write or the returned length covers it.
 */

/** Largest chunk framed in one call; longer input is framed in pieces. */
const CAPACITY = 256 * 1024;
/** in[-1] is the previous byte; 16 keeps the input aligned. */
const IN = 16;
const OUT = IN + CAPACITY + 16;
const PAGE = 64 * 1024;
const PAGES = Math.ceil((OUT + 2 * CAPACITY + 16) / PAGE);

const LF = 10;
const CR = 13;
const DOT = 46;

// Opcodes used below (WebAssembly core and SIMD specifications).
const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  else: 0x05,
  end: 0x0b,
  brIf: 0x0d,
  br: 0x0c,
  call: 0x10,
  localGet: 0x20,
  localSet: 0x21,
  i32Load8u: 0x2d,
  i32Store8: 0x3a,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Eq: 0x46,
  i32Ne: 0x47,
  i32LtU: 0x49,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Ctz: 0x68,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Or: 0x72,
  simd: 0xfd,
  v128Load: 0x00,
  v128Store: 0x0b,
  i8x16Splat: 0x0f,
  i8x16Eq: 0x23,
  i8x16Bitmask: 0x64,
  void: 0x40,
  i32: 0x7f,
  v128: 0x7b,
} as const;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128, for i32.const. */
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
/** memarg: alignment hint 0 (any address) and offset 0. */
const mem = [0, 0];
const get = (local: number): number[] => [op.localGet, local];
const set = (local: number): number[] => [op.localSet, local];
const i32 = (n: number): number[] => [op.i32Const, ...sleb(n)];
const addTo = (local: number, n: number): number[] => [...get(local), ...i32(n), op.i32Add, ...set(local)];
/** load8_u(base + index + delta) */
const byteAt = (base: number, index: number, delta: number): number[] => [...get(base), ...get(index), op.i32Add, ...(delta === 0 ? [] : [...i32(-delta), op.i32Sub]), op.i32Load8u, ...mem];
const storeByte = (addr: number, value: number[]): number[] => [...get(addr), ...value, op.i32Store8, ...mem];

// prettier-ignore
function scalarBody(): number[] {
  const [inp, i, end, o, b, p] = [0, 1, 2, 3, 4, 5];
  return [
    ...vec([[2, op.i32]]),
    op.block, op.void,
    op.loop, op.void,
    ...get(i), ...get(end), op.i32GeU, op.brIf, 1,
    ...byteAt(inp, i, 0), ...set(b),
    ...byteAt(inp, i, -1), ...set(p),
    ...get(b), ...i32(LF), op.i32Eq, ...get(p), ...i32(CR), op.i32Ne, op.i32And,
    op.if, op.void, ...storeByte(o, i32(CR)), ...addTo(o, 1), op.end,
    ...get(p), ...i32(LF), op.i32Eq, ...get(b), ...i32(DOT), op.i32Eq, op.i32And,
    op.if, op.void, ...storeByte(o, i32(DOT)), ...addTo(o, 1), op.end,
    ...storeByte(o, get(b)), ...addTo(o, 1),
    ...addTo(i, 1),
    op.br, 0,
    op.end,
    op.end,
    ...get(o),
    op.end,
  ];
}

// prettier-ignore
function frameBody(): number[] {
  const [inp, len, out, i, o, pos, m, lf, end, v] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const scalar = 0;
  /** v128.store(o, v128.load(in + pos)): the caller advances o by what counts. */
  const copy16 = [...get(o), ...get(inp), ...get(pos), op.i32Add, op.simd, op.v128Load, ...mem, op.simd, op.v128Store, ...mem];
  /** A '.' at pos that starts a line (in[pos - 1] is LF) is doubled. */
  const dotAtPos = [
    ...byteAt(inp, pos, -1), ...i32(LF), op.i32Eq, ...byteAt(inp, pos, 0), ...i32(DOT), op.i32Eq, op.i32And,
    op.if, op.void, ...storeByte(o, i32(DOT)), ...addTo(o, 1), op.end,
  ];
  return [
    ...vec([
      [6, op.i32],
      [1, op.v128],
    ]),
    ...get(out), ...set(o),
    op.block, op.void,
    op.loop, op.void,
    ...get(i), ...i32(16), op.i32Add, ...get(len), op.i32GtU, op.brIf, 1,
    ...get(inp), ...get(i), op.i32Add, op.simd, op.v128Load, ...mem, ...set(v),
    ...get(v), ...i32(LF), op.simd, op.i8x16Splat, op.simd, op.i8x16Eq, op.simd, op.i8x16Bitmask, ...set(m),
    // Most blocks: no LF, and not a '.' starting a line at the first byte.
    ...get(m), op.i32Eqz,
    ...byteAt(inp, i, -1), ...i32(LF), op.i32Eq, ...byteAt(inp, i, 0), ...i32(DOT), op.i32Eq, op.i32And, op.i32Eqz,
    op.i32And,
    op.if, op.void,
    ...get(o), ...get(v), op.simd, op.v128Store, ...mem, ...addTo(o, 16),
    op.else,
    // Segment by segment: the text up to each LF, CR if missing, LF, and a doubled dot.
    ...get(i), ...set(pos),
    ...get(i), ...i32(16), op.i32Add, ...set(end),
    op.block, op.void,
    op.loop, op.void,
    ...dotAtPos,
    ...get(m), op.i32Eqz, op.brIf, 1,
    ...get(i), ...get(m), op.i32Ctz, op.i32Add, ...set(lf),
    ...get(m), ...get(m), ...i32(1), op.i32Sub, op.i32And, ...set(m),
    ...copy16, ...get(o), ...get(lf), op.i32Add, ...get(pos), op.i32Sub, ...set(o),
    ...byteAt(inp, lf, -1), ...i32(CR), op.i32Ne,
    op.if, op.void, ...storeByte(o, i32(CR)), ...addTo(o, 1), op.end,
    ...storeByte(o, i32(LF)), ...addTo(o, 1),
    ...get(lf), ...i32(1), op.i32Add, ...set(pos),
    ...get(pos), ...get(end), op.i32LtU, op.brIf, 0,
    op.end,
    op.end,
    ...copy16, ...get(o), ...get(end), op.i32Add, ...get(pos), op.i32Sub, ...set(o),
    op.end,
    ...addTo(i, 16),
    op.br, 0,
    op.end,
    op.end,
    ...get(inp), ...get(i), ...get(len), ...get(o), op.call, scalar, ...set(o),
    ...get(o), ...get(out), op.i32Sub,
    op.end,
  ];
}

function moduleBytes(): Uint8Array {
  const scalarType = [0x60, ...vec([[op.i32], [op.i32], [op.i32], [op.i32]]), ...vec([[op.i32]])];
  const frameType = [0x60, ...vec([[op.i32], [op.i32], [op.i32]]), ...vec([[op.i32]])];
  const code = (body: number[]): number[] => [...uleb(body.length), ...body];
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec([scalarType, frameType])),
    ...section(3, vec([[0], [1]])),
    ...section(5, vec([[0x00, ...uleb(PAGES)]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('frame'), 0x00, 1]])),
    ...section(10, vec([code(scalarBody()), code(frameBody())])),
  ]);
}

// tsconfig's lib (ES2023, no DOM) does not declare WebAssembly, which Node has: only the
// little used here is declared.
declare const WebAssembly: {
  readonly Module: new (bytes: Uint8Array) => object;
  readonly Instance: new (module: object) => { readonly exports: Record<string, unknown> };
};

interface Kernel {
  readonly frame: (input: number, length: number, output: number) => number;
  readonly bytes: Uint8Array;
}

let kernel: Kernel | null | undefined;

function load(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
    const exports = instance.exports as { frame: Kernel['frame']; memory: { buffer: ArrayBuffer } };
    // The memory never grows, so this view stays valid.
    kernel = { frame: exports.frame, bytes: new Uint8Array(exports.memory.buffer) };
  } catch {
    // No WebAssembly or no SIMD (e.g. node --jitless): callers fall back to JavaScript.
    kernel = null;
  }
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
 * a message). The result goes into `into` when it fits (a view of it is returned), else
 * into a new buffer. Throws if the kernel is unavailable.
 */
export function frameLines(chunk: Uint8Array, previous: number, into?: Buffer): Buffer {
  const k = load();
  if (k === null) throw new Error('framing kernel unavailable');
  if (chunk.length <= CAPACITY) return framePiece(k, chunk, previous, into);
  const pieces: Buffer[] = [];
  for (let at = 0; at < chunk.length; at += CAPACITY) {
    pieces.push(framePiece(k, chunk.subarray(at, at + CAPACITY), at === 0 ? previous : (chunk[at - 1] as number)));
  }
  return Buffer.concat(pieces);
}

function framePiece(k: Kernel, piece: Uint8Array, previous: number, into?: Buffer): Buffer {
  k.bytes[IN - 1] = previous;
  k.bytes.set(piece, IN);
  const length = k.frame(IN, piece.length, OUT);
  // A copy: the kernel's memory is reused by the next call while this may still be queued.
  const framed = k.bytes.subarray(OUT, OUT + length);
  if (into === undefined || into.length < length) return Buffer.from(framed);
  into.set(framed);
  return into.subarray(0, length);
}
