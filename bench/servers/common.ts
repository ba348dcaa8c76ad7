import { connect, createServer } from 'node:net';
import type { Endpoint } from '../load/pop3-conn.js';

export type ServerName = 'postel' | 'dovecot';

/** A server the benchmark drives, started for this run on loopback ports. */
export interface ServerUnderTest {
  readonly name: ServerName;
  /** Root of the server's process tree: CPU and memory are summed over it. */
  readonly pid: number;
  readonly pop3: Endpoint;
  readonly pop3s: Endpoint;
  /** SMTP intake, when the server has one. */
  readonly smtp: { readonly host: string; readonly port: number } | null;
  /** Where user Maildirs go (ROOT/<user>). */
  readonly mailRoot: string;
  /** Who must own Maildir files for the server to use them (null: as we are). */
  readonly mailOwner: { readonly uid: number; readonly gid: number } | null;
  readonly version: string;
  /** What differs from the defaults, for the report. */
  readonly notes: readonly string[];
  stop(): Promise<void>;
}

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

/** Resolves once `port` answers with a line starting "+OK" (or `prefix`); bounded by `timeoutMs`. */
export async function waitForGreeting(port: number, timeoutMs: number, gone: () => boolean, prefix = '+OK'): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!gone() && Date.now() < deadline) {
    if (await greets(port, prefix)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
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
