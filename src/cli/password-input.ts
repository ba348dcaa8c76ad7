import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError, EX_USAGE } from './exit-codes.js';
import { readAllStdin } from './common.js';

/** A new password from stdin (--password-stdin) or an echo-free prompt on a terminal. */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) {
    const text = (await readAllStdin()).toString('utf8');
    const password = text.split(/\r?\n/)[0] ?? '';
    if (password === '') throw new CliError('no password on standard input', EX_USAGE);
    return password;
  }
  if (!process.stdin.isTTY) throw new CliError('standard input is not a terminal: use --password-stdin', EX_USAGE);
  const first = await prompt('New password: ');
  const second = await prompt('Repeat password: ');
  if (first !== second) throw new CliError('passwords do not match', EX_USAGE);
  if (first === '') throw new CliError('empty password', EX_USAGE);
  return first;
}

function prompt(question: string): Promise<string> {
  process.stderr.write(question);
  // Swallow the echo of what is typed.
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
  });
}
