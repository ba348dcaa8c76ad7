import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { postgresUnavailable } from './support/postgres.js';
import { waitFor } from './support/wait-for.js';

/*
 * A test file that node's runner kills (SIGTERM after --test-timeout) must not leave its
 * PostgreSQL cluster or `postel serve` behind: test/support stops them on the way out.
 */

const support = join(dirname(fileURLToPath(import.meta.url)), 'support');
const skip = postgresUnavailable();

/** A stand-in for a test file: starts a cluster and a server, reports them, then waits forever. */
const HUNG_TEST_FILE = `
import { startPostgres } from ${JSON.stringify(join(support, 'postgres.js'))};
import { startServerProcess, tempDataDir } from ${JSON.stringify(join(support, 'server-process.js'))};
const cluster = await startPostgres();
const env = await tempDataDir();
const server = await startServerProcess(['--config', env.config, '--host', '127.0.0.1']);
process.stdout.write(JSON.stringify({ dir: cluster.dir, port: cluster.port, serverPid: server.pid, pop3: server.port }) + '\\n');
setInterval(() => undefined, 1000);
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('test support cleanup', { skip }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`stops the PostgreSQL cluster and postel serve of a test file ended by ${signal}`, async () => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', HUNG_TEST_FILE], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise((r) => child.once('exit', r));
      const started = await waitFor(() => (out.includes('\n') ? (JSON.parse(out) as { dir: string; port: number; serverPid: number; pop3: number }) : child.exitCode !== null ? (() => { throw new Error(err); })() : undefined), 'the stand-in started', 60_000);
      assert.ok(existsSync(started.dir) && (await listening(started.port)) && alive(started.serverPid), 'all running before the signal');
      child.kill(signal);
      await exited;
      assert.equal(existsSync(started.dir), false, 'the cluster directory is gone');
      assert.equal(await listening(started.port), false, 'PostgreSQL no longer listens');
      await waitFor(() => !alive(started.serverPid) || undefined, 'postel serve gone', 10_000);
      assert.equal(await listening(started.pop3), false);
    });
  }
});
