/**
 * Crash injection for the exactly-once tests. With POSTEL_FETCH_CRASH=STEP[:N] the process
 * kills itself with SIGKILL the N-th time (default 1st) it reaches STEP, so the tests can
 * show that a fetch killed anywhere neither loses nor duplicates mail. Inert otherwise.
 */
export type CrashStep =
  /** Pending delivery recorded, nothing written yet. */
  | 'after-pending'
  /** The destination has read the whole message and not finished storing it. */
  | 'mid-deliver'
  /** Delivered and durable; the state does not say so yet. */
  | 'after-deliver'
  /** State says delivered; DELE not sent yet. */
  | 'after-record'
  /** DELE acknowledged; QUIT not sent, so the server has not deleted anything. */
  | 'after-dele'
  /** QUIT acknowledged (deletions committed); state not compacted yet. */
  | 'after-quit';

const spec = process.env['POSTEL_FETCH_CRASH'];
const [wantedStep, wantedCount] = spec === undefined ? [undefined, 0] : [spec.split(':')[0], Number(spec.split(':')[1] ?? '1')];
let reached = 0;

export function crashPoint(step: CrashStep): void {
  if (wantedStep !== step) return;
  reached++;
  if (reached === wantedCount) process.kill(process.pid, 'SIGKILL');
}
