import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { addLoadgenCpu } from '../measure.js';
import type { Endpoint } from './pop3-conn.js';
import { WorkerThreadLoad, type PopLoad } from './pop-load.js';
import type { LoadPool } from './pool.js';
import type { Account, ChurnResult, ListingResult, RetrResult } from './tasks.js';

/** The C source sits beside this module's TypeScript source (dist/bench/load -> bench/load). */
export const LOADGEN_SOURCE = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bench/load/loadgen.c');

const run = promisify(execFile);

/**
 * Compiles loadgen.c with the machine's `cc` into `dir`; null (and why) when there is no
 * compiler or no OpenSSL headers, so the caller can fall back to the Node generator.
 */
export async function buildCGenerator(dir: string): Promise<{ binary: string } | { binary: null; why: string }> {
  const binary = join(dir, 'postel-loadgen');
  try {
    await run('cc', ['-O2', '-Wall', '-Wno-format-truncation', '-o', binary, LOADGEN_SOURCE, '-lssl', '-lcrypto'], { timeout: 120_000 });
    return { binary };
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    return { binary: null, why: e.code === 'ENOENT' ? 'no C compiler (cc)' : `cc failed: ${(e.stderr ?? e.message).split('\n').slice(0, 3).join(' ')}` };
  }
}

/**
 * The POP3 load of a run: the C generator built in `dir`, else (or when asked) the Node
 * worker threads of `pool`; says why on `progress` when the C one could not be built.
 */
export async function popLoadFor(pool: LoadPool, dir: string, nodeLoadgen: boolean, progress: (msg: string) => void): Promise<PopLoad> {
  if (!nodeLoadgen) {
    const built = await buildCGenerator(dir);
    if (built.binary !== null) return new CLoad(built.binary, dir);
    progress(`the C load generator could not be built (${built.why}); POP3 load comes from Node worker threads`);
  }
  return new WorkerThreadLoad(pool);
}

/** A failed run of the C generator: its stderr says why (e.g. an octet mismatch). */
export class LoadgenError extends Error {}

/** The C generator: one process per task, accounts on stdin, one JSON object on stdout. */
export class CLoad implements PopLoad {
  readonly description = 'C, one epoll thread (bench/load/loadgen.c)';

  /** `dir` holds the CA files the generator verifies TLS servers with. */
  constructor(
    private readonly binary: string,
    private readonly dir: string,
  ) {}

  async churn(endpoint: Endpoint, clients: readonly Account[], durationMs: number, maxSessions: number): Promise<ChurnResult> {
    const r = await this.exec<ChurnResult & { cpuSeconds: number }>(
      ['churn', endpoint.host, String(endpoint.port), endpoint.tls ? '1' : '0', this.caFile(endpoint), String(durationMs / 1000), String(maxSessions)],
      clients,
    );
    return { sessions: r.sessions, errors: r.errors, firstError: r.firstError, resumed: r.resumed, latenciesMs: r.latenciesMs };
  }

  async retr(endpoint: Endpoint, accounts: readonly Account[], count: number, timeoutMs: number): Promise<RetrResult[]> {
    if (endpoint.tls) throw new Error('the C generator RETRs over plain POP3 only');
    const r = await this.exec<{ connections: RetrResult[] }>(['retr', endpoint.host, String(endpoint.port), String(count), String(timeoutMs)], accounts);
    return r.connections;
  }

  async listing(endpoint: Endpoint, account: Account): Promise<ListingResult> {
    if (endpoint.tls) throw new Error('the C generator lists over plain POP3 only');
    return this.exec<ListingResult>(['listing', endpoint.host, String(endpoint.port), '120000'], [account]);
  }

  /** "-": no verification (an endpoint without a CA); else a file of the PEM, written once. */
  private caFile(endpoint: Endpoint): string {
    if (!endpoint.tls || !endpoint.ca) return '-';
    const file = join(this.dir, `ca-${createHash('sha256').update(endpoint.ca).digest('hex').slice(0, 16)}.pem`);
    if (!existsSync(file)) writeFileSync(file, endpoint.ca);
    return file;
  }

  private exec<T>(args: readonly string[], accounts: readonly Account[]): Promise<T> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(this.binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (code) => {
        if (code !== 0) return reject(new LoadgenError(err.trim() || `loadgen exited with ${code}`));
        try {
          const result = JSON.parse(out) as T & { cpuSeconds: number };
          addLoadgenCpu(result.cpuSeconds);
          resolvePromise(result);
        } catch {
          reject(new LoadgenError(`loadgen printed no JSON: ${out.slice(0, 200)} ${err.slice(0, 200)}`));
        }
      });
      child.stdin.end(accounts.map((a) => `${a.user}\t${a.password}\n`).join(''));
    });
  }
}
