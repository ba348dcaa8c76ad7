import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAliases } from './aliases.js';

describe('parseAliases', () => {
  it('reads keys, comma- or space-separated targets, comments and continuation lines', () => {
    const { table, problems } = parseAliases(
      ['# a comment', 'Info@Example.ORG   alice, bob@example.org  # trailing comment', '@catch.test carol', 'list@example.org a,', '   b c', '', 'postmaster demo'].join('\n'),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(table.entries.get('info@example.org'), ['alice', 'bob@example.org']);
    assert.deepEqual(table.entries.get('@catch.test'), ['carol']);
    assert.deepEqual(table.entries.get('list@example.org'), ['a', 'b', 'c']);
    assert.deepEqual(table.entries.get('postmaster'), ['demo']);
    assert.deepEqual([...table.domains].sort(), ['catch.test', 'example.org']);
  });

  it('reports lines without targets, malformed keys and duplicates, keeping the first', () => {
    const { table, problems } = parseAliases('lonely@example.org\na@b@c x\ndup@x.test one\ndup@x.test two\n');
    assert.deepEqual(
      problems.map((p) => [p.line, p.problem]),
      [
        [1, 'no target'],
        [2, 'malformed key'],
        [4, 'duplicate key; the first one wins'],
      ],
    );
    assert.deepEqual(table.entries.get('dup@x.test'), ['one']);
  });

  it('keeps a # inside a word', () => {
    assert.deepEqual(parseAliases('a#b@x.test target\n').table.entries.get('a#b@x.test'), ['target']);
  });
});
