/*
 * What a test file started outside itself (a PostgreSQL cluster, `postel serve`, HAProxy,
 * Dovecot) is stopped when the file's process ends in any way its after() hooks do not see:
 * node's test runner sends SIGTERM to a file that outlives --test-timeout, and Ctrl-C sends
 * SIGINT. The actions are synchronous, since nothing asynchronous runs in an 'exit' handler.
 * An after() hook that stops the thing first calls the returned function to drop its action.
 */

const actions = new Set<() => void>();
let installed = false;

/** Runs `action` at process exit or on a terminating signal; the result cancels it. */
export function onProcessEnd(action: () => void): () => void {
  install();
  actions.add(action);
  return () => actions.delete(action);
}

function runAll(): void {
  for (const action of [...actions]) {
    actions.delete(action);
    try {
      action();
    } catch {
      // One failed cleanup must not keep the others from running.
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll();
      // The default action now: the process ends as the signal meant it to.
      process.kill(process.pid, signal);
    });
  }
}
