import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MboxrdQuoter } from './mboxrd.js';

/** The mboxrd rule, written independently: /^>*From / gets one more ">". */
const expected = (text: string): string => text.replace(/^(>*From )/gm, '>$1') + (text.endsWith('\n') || text === '' ? '' : '\n');

function quote(pieces: readonly string[]): string {
  const q = new MboxrdQuoter();
  return pieces.map((p) => q.push(Buffer.from(p, 'latin1')).toString('latin1')).join('') + q.end().toString('latin1');
}

const SAMPLES = ['From me\nbody\n', 'x\nFrom \n>From a\n>>From b\nFrom', 'Fro\nFromage\n From x\n>>>>x\n', '>', 'From', '\nFrom x\n\nFrom y\n', 'no newline at end'];

test('every sample at every split point', () => {
  for (const text of SAMPLES) {
    assert.equal(quote([text]), expected(text), text);
    for (let cut = 0; cut <= text.length; cut++) assert.equal(quote([text.slice(0, cut), text.slice(cut)]), expected(text), `${JSON.stringify(text)} cut ${cut}`);
    assert.equal(quote([...text]), expected(text), `${JSON.stringify(text)} byte by byte`);
  }
});

test('a long run of ">" is not held back', () => {
  const q = new MboxrdQuoter();
  assert.equal(q.push(Buffer.from('>'.repeat(100_000))).length, 100_000);
  assert.equal(q.push(Buffer.from('From x\n')).toString(), '>From x\n');
});
