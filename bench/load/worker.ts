import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { runTask, type Task } from './tasks.js';

/** workerData that makes this module a load-generator thread. */
export const LOADGEN_ROLE = 'postel-bench-loadgen';
export const workerUrl = new URL(import.meta.url);

export interface TaskMessage {
  readonly id: number;
  readonly task: Task;
}

export type ReplyMessage = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: string };

if (!isMainThread && workerData === LOADGEN_ROLE && parentPort) {
  const port = parentPort;
  port.on('message', (msg: TaskMessage) => {
    runTask(msg.task).then(
      (result) => port.postMessage({ id: msg.id, result } satisfies ReplyMessage),
      (err: unknown) => port.postMessage({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies ReplyMessage),
    );
  });
}
