import type { ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { waitFor } from './wait-for.js';

/*
 * Starting and stopping servers on loopback ports, for the tests and the benchmark alike.
 */

/** A port free on 127.0.0.1 now (another process may take it before it is bound: retry then). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves true once `port` answers with a line starting with `prefix`, false when `gone()`
 * says the server exited or `timeoutMs` passed.
 */
export async function waitForGreeting(port: number, timeoutMs: number, gone: () => boolean, prefix = '+OK'): Promise<boolean> {
  const outcome = await waitFor(async () => (gone() ? 'gone' : (await greets(port, prefix)) ? 'ready' : undefined), `a greeting on port ${port}`, timeoutMs).catch(
    () => 'timeout',
  );
  return outcome === 'ready';
}

function greets(port: number, prefix: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d: Buffer) => done(d.toString('latin1').startsWith(prefix)));
  });
}

/** SIGTERM, then SIGKILL if the process has not exited within `timeoutMs`. */
export async function stopChild(child: ChildProcess, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}
