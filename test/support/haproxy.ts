import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessEnd } from './exit-cleanup.js';
import { freePort } from './processes.js';

/*
 * Debian's HAProxy in front of postel nodes for tests: one TCP frontend per entry, each on a
 * free loopback port, passing connections on with a PROXY protocol v2 header (send-proxy-v2)
 * as a production load balancer would. Runs in the foreground as a child; stop() ends it.
 */

export interface HaproxyFrontend {
  /** Backend servers (host:port), balanced round-robin. */
  readonly servers: readonly string[];
}

export interface Haproxy {
  /** The frontends' ports, in the order given. */
  readonly ports: readonly number[];
  readonly config: string;
  stop(): Promise<void>;
}

export const HAPROXY = '/usr/sbin/haproxy';

export async function startHaproxy(frontends: readonly HaproxyFrontend[]): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'postel-haproxy-'));
  const ports: number[] = [];
  for (let i = 0; i < frontends.length; i++) ports.push(await freePort());
  const lines = ['global', '  maxconn 500', 'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 10m', '  timeout server 10m'];
  frontends.forEach((f, i) => {
    lines.push(`frontend f${i}`, `  bind 127.0.0.1:${ports[i]}`, `  default_backend b${i}`, `backend b${i}`, '  balance roundrobin');
    f.servers.forEach((s, j) => lines.push(`  server s${j} ${s} send-proxy-v2`));
  });
  const config = `${lines.join('\n')}\n`;
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  const child: ChildProcess = spawn(HAPROXY, ['-f', file, '-db'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const killAtExit = onProcessEnd(() => child.kill('SIGKILL'));
  void exited.then(killAtExit);
  for (const port of ports) await waitListening(port, () => (child.exitCode !== null ? `haproxy exited: ${stderr}` : undefined));
  return {
    ports,
    config,
    async stop(): Promise<void> {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitListening(port: number, failed: () => string | undefined): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const why = failed();
    if (why) throw new Error(why);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host: '127.0.0.1' }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`haproxy did not listen on ${port}`);
}
