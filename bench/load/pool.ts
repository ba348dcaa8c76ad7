import { Worker } from 'node:worker_threads';
import type { Task, TaskResult } from './tasks.js';
import { LOADGEN_ROLE, workerUrl, type ReplyMessage } from './worker.js';

/**
 * Load-generator threads, so that clients are spread over cores instead of queueing behind
 * one event loop. The threads live as long as the benchmark; tasks are sent to them.
 */
export class LoadPool {
  private readonly workers: Worker[];
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;

  constructor(readonly size: number) {
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(workerUrl, { workerData: LOADGEN_ROLE });
      w.on('message', (msg: ReplyMessage) => {
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if ('error' in msg) p.reject(new Error(msg.error));
        else p.resolve(msg.result);
      });
      w.on('error', (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      return w;
    });
  }

  /** Runs one task on thread `index` (modulo the pool size). */
  run<R extends TaskResult>(index: number, task: Task): Promise<R> {
    const id = this.nextId++;
    const worker = this.workers[index % this.size] as Worker;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ id, task });
    });
  }

  /** Runs the same kind of work split over every thread: `make(i)` builds thread i's share. */
  all<R extends TaskResult>(make: (index: number) => Task | null): Promise<R[]> {
    const runs: Promise<R>[] = [];
    for (let i = 0; i < this.size; i++) {
      const task = make(i);
      if (task) runs.push(this.run<R>(i, task));
    }
    return Promise.all(runs);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
