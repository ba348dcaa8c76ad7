import assert from 'node:assert/strict';
import { test } from 'node:test';
import { frameLines, framingKernelAvailable } from './framing-kernel.js';

test('the framing kernel loads and frames', () => {
  assert.equal(framingKernelAvailable(), true);
  const framed = frameLines(Buffer.from('a\n.b\r\nc'), 10);
  assert.equal(framed.toString('latin1'), 'a\r\n..b\r\nc');
});
