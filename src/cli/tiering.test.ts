import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { v8Major } from './tiering.js';

const module = JSON.stringify(fileURLToPath(new URL('./tiering.js', import.meta.url)));

/** Runs `code` in a fresh node, after importing tuneTiering; its stdout and stderr. */
function node(code: string, flags: string[] = []): { stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', `import { tuneTiering } from ${module};\n${code}`], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  return { stdout: run.stdout, stderr: run.stderr };
}

// V8 reports a flag it does not know on stderr and goes on without it: a renamed flag would
// leave the server at the default quietly.
test('tuneTiering sets only flags that the running V8 knows', () => {
  assert.equal(node('tuneTiering();').stderr, '');
});

test('after tuneTiering a hot function is optimised after fewer calls', { skip: v8Major() !== 11 && `V8 ${process.versions.v8}: tuneTiering changes nothing there` }, () => {
  // Bit 16 of the status: optimised by TurboFan. Compiled on the main thread, so the call
  // that triggers it is the one that counts.
  const callsUntilOptimised = (tune: boolean): number => {
    const code = `${tune ? 'tuneTiering();' : ''}
      function hot(a) { let s = 0; for (let i = 0; i < 20; i++) s += a * i; return s; }
      let calls = 0;
      while (calls < 100000 && !(%GetOptimizationStatus(hot) & 16)) hot(calls++);
      console.log(calls);`;
    return Number(node(code, ['--allow-natives-syntax', '--no-concurrent-recompilation']).stdout);
  };
  const before = callsUntilOptimised(false);
  const after = callsUntilOptimised(true);
  assert.ok(before < 100000, `optimised at all without tuning (${before} calls)`);
  assert.ok(after * 4 < before, `${after} calls tuned against ${before} by default`);
});
