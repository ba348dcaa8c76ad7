import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/*
 * What a server costs, read from /proc so that one-process postel and Dovecot (a master
 * that forks a process per session) are counted the same way: over the whole process tree.
 */

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may contain spaces: fields follow the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
  const n = (i: number): number => Number(fields[i] ?? 0);
  return { pid, ppid: n(1), ticks: n(11) + n(12) + n(13) + n(14) };
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const s = readStat(Number(name));
    if (s) out.push(s);
  }
  return out;
}

/** The pids of `root` and all its descendants that are alive now. */
export function processTree(root: number): number[] {
  return treeStats(root).map((s) => s.pid);
}

function treeStats(root: number): ProcStat[] {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const self = stats.find((s) => s.pid === root);
  if (!self) return [];
  const out: ProcStat[] = [];
  const queue = [self];
  while (queue.length > 0) {
    const s = queue.pop() as ProcStat;
    out.push(s);
    for (const c of children.get(s.pid) ?? []) queue.push(c);
  }
  return out;
}

/**
 * CPU seconds used so far by the tree: live processes' own time plus the time of children
 * they have reaped (cutime/cstime), which is where Dovecot's finished sessions end up.
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const s of treeStats(root)) ticks += s.ticks;
  return ticks / clockTicks();
}

/** Sum of PSS (proportional set size) over the tree, in bytes: shared pages counted once. */
export function treePssBytes(root: number): number {
  let kb = 0;
  for (const pid of processTree(root)) kb += pssKb(pid);
  return kb * 1024;
}

/** PSS of one process in kB (0 if it is gone). */
export function pssKb(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const m = /^Pss:\s+(\d+) kB/m.exec(text);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

const hasSchedstat = existsSync('/proc/self/schedstat');

/**
 * CPU seconds the tree's threads have run so far, summed from /proc/PID/task/TID/schedstat
 * (nanoseconds; stat's utime and stime come in 10 ms ticks, too coarse for a few-percent
 * difference over a few seconds). Time of threads or processes that have ended is not in
 * it, so only for trees whose threads live through the measurement, as postel's do (its
 * workers, libuv's and V8's threads). Falls back to treeCpuSeconds without schedstat.
 */
export function treeRunSeconds(root: number, attempts = 3): number {
  if (!hasSchedstat) return treeCpuSeconds(root);
  let nanos = 0;
  try {
    for (const pid of processTree(root)) {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        nanos += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      }
    }
  } catch (err) {
    // A thread that ended between the listing and the read: read the tree again.
    if (attempts > 1) return treeRunSeconds(root, attempts - 1);
    throw err;
  }
  return nanos / 1e9;
}
