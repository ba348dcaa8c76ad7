import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { processTree, pssKb, treeCpuSeconds } from './proc.js';

/** One figure of one scenario for one server. */
export interface Metric {
  readonly scenario: string;
  readonly metric: string;
  readonly unit: string;
  /** null: not measured (the note says why). */
  readonly value: number | null;
  readonly note?: string;
}

/** Where the CPU went while a scenario ran, as percent of one core. */
export interface CpuShares {
  readonly wallSeconds: number;
  /** The server's process tree. */
  readonly server: number;
  /** This process (the harness, load-generator threads) and the C generator's processes. */
  readonly loadgen: number;
  /** Everything else on this machine (other people's work: the noise). */
  readonly other: number;
  /**
   * Time the hypervisor gave our virtual CPUs to someone else (steal in /proc/stat): the
   * noise from outside the machine. Absent in results recorded before it was measured.
   */
  readonly steal?: number;
  /** The server's PostgreSQL cluster (bench --store postgres), not in `server` or `other`. */
  readonly database?: number;
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** CPU seconds this machine has been busy, and those stolen from it, since boot. */
function machineSeconds(): { busy: number; steal: number } {
  // First line of /proc/stat: cpu user nice system idle iowait irq softirq steal ...
  const fields = (readFileSync('/proc/stat', 'latin1').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const busy = fields.slice(0, 7).reduce((a, b) => a + b, 0) - (fields[3] ?? 0) - (fields[4] ?? 0);
  return { busy: busy / 100, steal: (fields[7] ?? 0) / 100 };
}

/** CPU seconds of load-generator child processes (the C generator) that have ended. */
let childLoadgenSeconds = 0;

/** Counts a finished load-generator process's own CPU (it reports its getrusage). */
export function addLoadgenCpu(seconds: number): void {
  childLoadgenSeconds += seconds;
}

/**
 * Runs `work` and reports the CPU it cost the server, this process and the rest of the
 * machine. The server's figure covers every process in its tree, also those that ended
 * during the run (their time is in their parent's cutime/cstime once reaped).
 */
export async function withCpu<T>(server: { readonly pid: number; readonly databasePid?: number }, work: () => Promise<T>): Promise<{ result: T; cpu: CpuShares; serverCpuSeconds: number }> {
  const serverPid = server.pid;
  // utime+stime (and reaped children's) summed over the postmaster's tree, from /proc.
  const databaseSeconds = (): number => (server.databasePid === undefined ? 0 : treeCpuSeconds(server.databasePid));
  const d0 = databaseSeconds();
  const s0 = treeCpuSeconds(serverPid);
  const g0 = process.cpuUsage();
  const c0 = childLoadgenSeconds;
  const m0 = machineSeconds();
  const t0 = performance.now();
  const result = await work();
  const wallSeconds = (performance.now() - t0) / 1000;
  const serverCpuSeconds = treeCpuSeconds(serverPid) - s0;
  const dbSeconds = databaseSeconds() - d0;
  const g = process.cpuUsage(g0);
  const loadgenSeconds = (g.user + g.system) / 1e6 + (childLoadgenSeconds - c0);
  const m1 = machineSeconds();
  const pct = (s: number): number => (100 * s) / wallSeconds;
  return {
    result,
    serverCpuSeconds,
    cpu: {
      wallSeconds,
      server: pct(serverCpuSeconds),
      loadgen: pct(loadgenSeconds),
      other: Math.max(0, pct(m1.busy - m0.busy - serverCpuSeconds - loadgenSeconds - dbSeconds)),
      steal: pct(m1.steal - m0.steal),
      ...(server.databasePid === undefined ? {} : { database: pct(dbSeconds) }),
    },
  };
}

/**
 * Samples the tree's PSS every `everyMs` while `work` runs; returns the peak in bytes. The
 * process list is refreshed only every 20 samples: walking all of /proc each time would
 * make the sampler a load of its own (a new Dovecot session process is seen within 50 ms).
 */
export async function withPeakPss<T>(serverPid: number, everyMs: number, work: () => Promise<T>): Promise<{ result: T; peakBytes: number }> {
  let pids = processTree(serverPid);
  let samples = 0;
  const sample = (): number => pids.reduce((sum, pid) => sum + pssKb(pid), 0) * 1024;
  let peak = sample();
  const timer = setInterval(() => {
    if (++samples % 5 === 0) pids = processTree(serverPid);
    peak = Math.max(peak, sample());
  }, everyMs);
  try {
    const result = await work();
    pids = processTree(serverPid);
    peak = Math.max(peak, sample());
    return { result, peakBytes: peak };
  } finally {
    clearInterval(timer);
  }
}

export const coreCount = cpus().length;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
