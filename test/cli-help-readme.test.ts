import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './support/server-process.js';

/*
 * The README's table of options per command against what each `postel COMMAND --help`
 * prints: an option added, renamed or dropped in one place and not the other fails here.
 */

const README = resolve(dirname(fileURLToPath(import.meta.url)), '../../README.md');
const TABLE_HEADER = '| command | options |';

/** Long options named in a text: `--pop3-port`, `--no-scram`. */
function longOptions(text: string): string[] {
  return [...new Set(text.match(/--[a-z0-9][a-z0-9-]*/g) ?? [])].filter((o) => o !== '--help').sort();
}

async function readmeTable(): Promise<Map<string, string[]>> {
  const text = await readFile(README, 'utf8');
  const start = text.indexOf(TABLE_HEADER);
  assert.ok(start >= 0, `README has no "${TABLE_HEADER}" table`);
  const rows = new Map<string, string[]>();
  for (const line of text.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [, command = '', options = ''] = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    rows.set(command.replace(/`/g, ''), longOptions(options));
  }
  return rows;
}

/** The option lines of a help text (commander indents them and starts them with "-"). */
async function helpOptions(command: string): Promise<string[]> {
  const result = await runCli([...command.split(' '), '--help']);
  assert.equal(result.code, 0, result.stderr);
  const optionLines = result.stdout.split('\n').filter((l) => /^\s+-/.test(l));
  return longOptions(optionLines.map((l) => l.trim().split(/\s{2,}/)[0] ?? '').join(' '));
}

/** Subcommands as `postel --help` (and each group's --help) lists them. */
async function commands(): Promise<string[]> {
  const listed = async (args: string[]): Promise<string[]> => {
    const result = await runCli([...args, '--help']);
    const section = result.stdout.split(/^Commands:$/m)[1] ?? '';
    return section
      .split('\n')
      .map((l) => /^\s{2}([a-z][a-z-]*)\b/.exec(l)?.[1])
      .filter((c): c is string => c !== undefined && c !== 'help');
  };
  const out: string[] = [];
  for (const command of await listed([])) {
    const sub = await listed([command]);
    if (sub.length === 0) out.push(command);
    else out.push(...sub.map((s) => `${command} ${s}`));
  }
  return out.sort();
}

describe('README: the options table matches each command --help', () => {
  it('has a row for every command and no other', async () => {
    assert.deepEqual([...(await readmeTable()).keys()].sort(), await commands());
  });
  it('lists exactly the options each command --help shows', async () => {
    const table = await readmeTable();
    for (const [command, options] of table) {
      assert.deepEqual(options, await helpOptions(command), `postel ${command}`);
    }
  });
});
