import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';

export interface MachineFacts {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryBytes: number;
  readonly kernel: string;
  readonly node: string;
  /** The 1-minute load average when the run started: other work on the machine. */
  readonly loadAverageAtStart: number;
  readonly commit: string | null;
}

export function machineFacts(cwd: string): MachineFacts {
  let commit: string | null = null;
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    // The results file changes with every recorded run: it says nothing about the code measured.
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    commit = dirty ? `${head}+changes` : head;
  } catch {
    commit = null;
  }
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryBytes: totalmem(),
    kernel: release(),
    node: process.version,
    loadAverageAtStart: Number(readFileSync('/proc/loadavg', 'latin1').split(' ')[0]),
    commit,
  };
}
