import { setFlagsFromString } from 'node:v8';

/** Bytecode bytes a function runs before V8 11 considers optimising it (its default: 66 KiB). */
export const INTERRUPT_BUDGET = 4096;

/**
 * Makes V8 optimise a server's hot functions sooner than its default, which suits web pages
 * that run briefly. One RETR runs through some 70 functions (the session, the store, Node's
 * socket streams), and a freshly started server answered its first 2,000 RETRs at about 60 %
 * of its later speed while they tiered up. With this budget the first round of bulk_retr
 * was about 10 % faster with one client and with eight (means of 3 to 7 runs each way,
 * 2026-12-04; single runs vary as much). At 1 KiB (and a shorter wait after type changes)
 * it was slower: functions were optimised before their types had settled, then deoptimised.
 *
 * Only V8 11 (Node 20) gets it: V8 13 (Node 24) has no such flag (it counts invocations and
 * has Maglev, a tier between) and keeps its defaults; neither it nor Node 22 was measured.
 * Called first thing in `serve`, in the primary and in every POP3 worker.
 */
export function tuneTiering(): void {
  if (v8Major() === 11) setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}

export function v8Major(): number {
  return Number(process.versions.v8.split('.')[0]);
}
