import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onProcessEnd } from './exit-cleanup.js';

/** The checkout's bin/postel, from dist/test/support/. */
export const POSTEL_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/postel');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `postel ARGS` to completion, optionally feeding stdin. */
export function runCli(args: readonly string[], input?: string | Buffer, env: NodeJS.ProcessEnv = process.env): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [POSTEL_BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** The implicit-TLS port. */
  readonly tlsPort: number | undefined;
  readonly pid: number;
  /** Everything written so far to stdout (JSON log lines) and stderr (the banner). */
  stdout(): string;
  stderr(): string;
  logs(): Record<string, unknown>[];
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `postel serve` as a real process on a free loopback port; resolves when it listens. */
export async function startServerProcess(args: readonly string[], command: 'serve' | 'dev' = 'serve'): Promise<ServerProcess> {
  const child = spawn(process.execPath, [POSTEL_BIN, command, '--pop3-port', '0', '--pop3s-port', '0', '--smtp-port', '0', '--lmtp-port', '0', '--submission-port', '0', '--http-port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const killAtExit = onProcessEnd(() => child.kill('SIGKILL'));
  void exited.then(killAtExit);
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /POP3 on \[?[^\s\]]+\]?:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolvePort(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${err}`));
    });
  });
  const tlsPort = Number(/POP3 over TLS on \[?[^\s\]]+\]?:(\d+)/.exec(err)?.[1]) || undefined;
  return {
    child,
    port,
    tlsPort,
    pid: child.pid as number,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      out
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

let storeDatabase: (() => Promise<string>) | undefined;

/**
 * From now on, every tempDataDir in this process gets `[store] url` of a fresh, migrated
 * database from `next`: runs a test file's servers and CLI calls on PostgreSQL instead of
 * Maildir (see interop-postgres.test.ts).
 */
export function useStoreDatabases(next: () => Promise<string>): void {
  storeDatabase = next;
}

/** A temporary data directory with a config file that keeps tests fast. */
export async function tempDataDir(configToml = ''): Promise<{ dir: string; config: string; storeToml: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'postel-proc-'));
  const config = join(dir, 'postel.toml');
  // Failed logins answered at once (no response floor, no growing delays), in the test's own [auth] table if it has one.
  const noFloor = 'failure_response_ms = 0\nmax_user_delay = 0\n';
  const body = /^\[auth\]$/m.test(configToml) ? configToml.replace(/^\[auth\]$/m, `[auth]\n${noFloor}`) : `${configToml}\n[auth]\n${noFloor}`;
  const store = storeDatabase ? `[store]\nurl = ${JSON.stringify(await storeDatabase())}\n` : '';
  await writeFile(config, `data_dir = ${JSON.stringify(join(dir, 'data'))}\n[pop3]\n${body}\n${store}`);
  return { dir, config, storeToml: store, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Whether an external program is on PATH (tests skip, saying so, when it is not). */
export async function hasProgram(name: string): Promise<boolean> {
  const r = await new Promise<number | null>((res) => {
    const c = spawn('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    c.on('close', res);
  });
  return r === 0;
}

/** Runs an external program to completion. */
export function run(cmd: string, args: readonly string[], input?: string): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout: Buffer.concat(out), stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
