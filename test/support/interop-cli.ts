import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { writeSeedFiles, type SeedMessage } from './interop-messages.js';
import { POSTEL_BIN, runCli, startServerProcess, tempDataDir, type CliResult, type ServerProcess } from './server-process.js';
import { waitFor } from './wait-for.js';
import { WireClient } from './wire-client.js';

/*
 * Helpers for tests that drive `postel` as a user would: through the CLI and a real
 * server process. They assert on every step they take, so a failing setup step reports
 * the CLI's own stderr instead of a confusing failure later on.
 */

/** Describes a finished CLI run for assertion messages. */
export function describeRun(r: CliResult): string {
  return `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** `postel user add NAME --password-stdin --config CONFIG [...extra]`, which must succeed. */
export async function addUser(config: string, name: string, password: string, extra: readonly string[] = []): Promise<CliResult> {
  const r = await runCli(['user', 'add', name, '--password-stdin', '--config', config, ...extra], `${password}\n`);
  assert.equal(r.code, 0, `user add ${name}: ${describeRun(r)}`);
  return r;
}

/** `postel deliver NAME FILE...` (stdin when no file is given), which must succeed. */
export async function deliverFiles(config: string, name: string, files: readonly string[], stdin?: Buffer): Promise<CliResult> {
  const r = await runCli(['deliver', name, ...files, '--config', config], stdin);
  assert.equal(r.code, 0, `deliver to ${name}: ${describeRun(r)}`);
  return r;
}

/**
 * A `postel serve` process on a fresh data directory in which alice (password alice-pw) has
 * every message and bob (bob-pw) the first three, all delivered with `postel deliver`.
 */
export async function serveSeeded(messages: readonly SeedMessage[]): Promise<{ server: ServerProcess; cleanup: () => Promise<void> }> {
  const env = await tempDataDir();
  try {
    await Promise.all([addUser(env.config, 'alice', 'alice-pw'), addUser(env.config, 'bob', 'bob-pw')]);
    const files = await writeSeedFiles(env.dir, messages);
    await deliverFiles(env.config, 'alice', files);
    await deliverFiles(env.config, 'bob', files.slice(0, 3));
    const server = await startServerProcess(['--config', env.config]);
    return { server, cleanup: async () => { await server.stop(); await env.cleanup(); } };
  } catch (err) {
    await env.cleanup();
    throw err;
  }
}

/** Connects to a server process and logs in with USER/PASS; fails the test otherwise. */
export async function loginTo(port: number, user: string, password: string): Promise<WireClient> {
  const client = await WireClient.connect(port);
  try {
    assert.match(await client.line(), /^\+OK /);
    assert.equal(await client.command(`USER ${user}`), '+OK Send your password');
    const answer = await client.command(`PASS ${password}`);
    assert.match(answer, new RegExp(`^\\+OK ${user}'s maildrop has \\d+ messages?`), `login of ${user}`);
    return client;
  } catch (err) {
    client.close();
    throw err;
  }
}

/** Connects, sends USER/PASS, and returns the answer to PASS (the client is closed). */
export async function tryLogin(port: number, user: string, password: string): Promise<string> {
  const client = await WireClient.connect(port);
  try {
    assert.match(await client.line(), /^\+OK /);
    await client.command(`USER ${user}`);
    return await client.command(`PASS ${password}`);
  } finally {
    client.close();
  }
}

/** Lines of a multi-line response body (CRLF-separated, without the terminator). */
export function bodyLines(body: Buffer): string[] {
  const text = body.toString('latin1');
  assert.ok(text === '' || text.endsWith('\r\n'), `body must end with CRLF: ${JSON.stringify(text.slice(-20))}`);
  return text === '' ? [] : text.slice(0, -2).split('\r\n');
}

/** LIST and UIDL of a logged-in session, as arrays indexed by message number - 1. */
export async function listAndUidl(client: WireClient): Promise<{ sizes: number[]; uids: string[] }> {
  const list = await client.multi('LIST');
  assert.match(list.status, /^\+OK/);
  const uidl = await client.multi('UIDL');
  assert.match(uidl.status, /^\+OK/);
  const sizes = bodyLines(list.body).map((line, i) => {
    const m = /^(\d+) (\d+)$/.exec(line);
    assert.ok(m, `LIST line ${JSON.stringify(line)}`);
    assert.equal(Number(m[1]), i + 1);
    return Number(m[2]);
  });
  const uids = bodyLines(uidl.body).map((line, i) => {
    const m = /^(\d+) ([\x21-\x7e]{1,70})$/.exec(line);
    assert.ok(m, `UIDL line ${JSON.stringify(line)}`);
    assert.equal(Number(m[1]), i + 1);
    return m[2] as string;
  });
  return { sizes, uids };
}

/** Resolves once the server process has written `pattern` to stderr, or rejects after `timeoutMs`. */
export function waitForStderr(server: ServerProcess, pattern: RegExp, timeoutMs = 10000): Promise<RegExpExecArray> {
  return waitFor(() => pattern.exec(server.stderr()) ?? undefined, `stderr to match ${pattern}`, timeoutMs);
}

/** VmRSS of a live process in bytes, from /proc (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/**
 * Sends `signal` and waits up to `timeoutMs` for the exit code; a process still running
 * then is SIGKILLed and 'timeout' returned, so a hung shutdown fails the test instead of
 * hanging it.
 */
export async function stopWithin(server: ServerProcess, signal: NodeJS.Signals, timeoutMs = 15000): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([server.stop(signal), timedOut]);
    if (result === 'timeout') await server.stop('SIGKILL');
    return result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Like runCli, for commands expected to exit by themselves (e.g. `serve` with a bad
 * config): one that is still running after `timeoutMs` is SIGKILLed, and the result says
 * so (code null, stderr ending in a note), instead of hanging the test run.
 */
export function runCliBounded(args: readonly string[], timeoutMs = 15000): Promise<CliResult & { timedOut: boolean }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [POSTEL_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr: timedOut ? `${stderr}\n[still running after ${timeoutMs} ms; killed]` : stderr, timedOut });
    });
  });
}
