import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Runs a command in the checkout, bounded in time; resolves with its exit code and output. */
function run(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun) => {
    // Without NODE_TEST_CONTEXT a nested `node --test` reports as a run of its own.
    const { NODE_TEST_CONTEXT: _inner, ...outer } = process.env;
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...outer, CI: 'true', NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolveRun({ code, output });
    });
  });
}

// The examples import 'postel' and 'postel/testing' by name, as a user's project would.
describe('examples/: postel/testing under three test runners', () => {
  it('node:test', async () => {
    // The reporter is named: Node 20 defaults to TAP when not on a terminal, Node 24 to spec.
    const r = await run(['--test', '--test-reporter=tap', join('examples', 'node-test', 'signup.test.mjs')]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /# pass 1/);
  });

  it('Vitest', async () => {
    const r = await run([join('node_modules', 'vitest', 'vitest.mjs'), 'run', '--root', join('examples', 'vitest')]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /1 passed/);
  });

  it('Jest', async () => {
    const r = await run(['--experimental-vm-modules', join('node_modules', 'jest', 'bin', 'jest.js'), '--rootDir', join('examples', 'jest')]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /Tests:\s+1 passed/);
  });
});
