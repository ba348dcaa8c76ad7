import { setFlagsFromString } from 'node:v8';

/** Bytecode bytes a function runs before V8 11 considers optimising it (its default: 66 KiB). */
export const INTERRUPT_BUDGET = 4096;

/**
 * Makes V8 optimise a server's hot functions sooner than its default, which suits web pages
 * that run briefly. One RETR runs through some 70 functions (the session, the store, Node's
 * socket streams), and a freshly started server answered its first 2,000 RETRs at about 60 %
 * of its later speed while they tiered up. With this budget `npm run bench` measured the
 * first round 10-15 % faster with one client and eight (bulk_retr, 2026-12-04). Below 2 KiB
 * it got slower: functions were optimised before their types had settled and deoptimised.
 *
 * Only V8 11 (Node 20) has the flag: V8 12 and later (Node 22, 24) count invocations instead
 * and have Maglev, a tier between; they keep their defaults, which were not measured here.
 * Called first thing in `serve`, in the primary and in every POP3 worker.
 */
export function tuneTiering(): void {
  if (v8Major() === 11) setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET}`);
}

export function v8Major(): number {
  return Number(process.versions.v8.split('.')[0]);
}
