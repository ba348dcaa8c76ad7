import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MessageInfo } from '../../store/types.js';
import { listLines } from './list-lines.js';
import { u32Sizes, writtenSizes } from './listing.js';

const info = (size: number, i: number): MessageInfo => ({ uid: `u${i}`, size });

/** LIST's lines for messages of these sizes, filled in as LIST fills them. */
function lines(sizes: readonly number[]): Buffer | null {
  const messages = sizes.map(info);
  return listLines(messages.length, (into) => u32Sizes(messages, true, into));
}

test('LIST lines from WebAssembly are those JavaScript writes, at every digit count up to 2^32 - 1', () => {
  const edges = [0, 1, 9, 10, 99, 100, 999, 1000, 65_535, 65_536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
  // 1,234 messages: line numbers of one to four digits.
  const sizes = Array.from({ length: 1234 }, (_, i) => edges[i % edges.length] as number);
  const fromWasm = lines(sizes);
  assert.ok(fromWasm !== null, 'WebAssembly runs here');
  assert.equal(fromWasm.toString('latin1'), writtenSizes(sizes.map(info), true).toString('latin1'));
  assert.equal(fromWasm.subarray(0, 21).toString('latin1'), '1 0\r\n2 1\r\n3 9\r\n4 10\r\n');
  assert.ok(fromWasm.toString('latin1').includes('\r\n13 4294967295\r\n'));
});

test('LIST lines: none for an empty maildrop; a size past 32 bits is left to JavaScript', () => {
  assert.equal(lines([])?.length, 0);
  assert.equal(lines([5, 2 ** 32]), null);
  assert.equal(writtenSizes([info(5, 0), info(2 ** 32, 1)], true).toString('latin1'), '1 5\r\n2 4294967296\r\n');
});

test('each call has lines of its own: an earlier result stays as it was', () => {
  const first = lines([1, 2, 3]);
  const second = lines([7, 8, 9]);
  assert.equal(first?.toString('latin1'), '1 1\r\n2 2\r\n3 3\r\n');
  assert.equal(second?.toString('latin1'), '1 7\r\n2 8\r\n3 9\r\n');
});
