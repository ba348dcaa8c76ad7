/**
 * Child process for lock tests: opens a maildrop, says "locked <count>" on stdout and keeps
 * the session until killed; SIGTERM releases it first. Usage:
 *   node lock-holder.fixture.js <root> <user>
 */
import type { Maildrop } from '../types.js';
import { MaildirStore } from './maildir-store.js';

const [root, user] = process.argv.slice(2);
if (root === undefined || user === undefined) {
  process.stderr.write('usage: lock-holder.fixture.js <root> <user>\n');
  process.exit(2);
}
let drop: Maildrop | undefined;
// Installed before the lock is announced, so a prompt SIGTERM cannot hit the default action.
process.on('SIGTERM', () => {
  void (drop?.release() ?? Promise.resolve()).then(() => process.exit(0));
});
// The lock's refresh timer is unref'd; this keeps the process (and so the lock) alive.
setInterval(() => undefined, 60_000);
const store = new MaildirStore({ root, hostname: 'child.test' });
drop = await store.openMaildrop(user);
process.stdout.write(`locked ${drop.messages.length}\n`);
