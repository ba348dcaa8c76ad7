import { mkdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Overrides } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { isErrno } from '../fs/errno.js';
import { CliError, EX_CONFIG } from './exit-codes.js';

export interface CommonOptions {
  readonly config?: string;
  readonly data?: string;
}

/** --config and --data on every subcommand, so all of them can share one data directory. */
export function withCommonOptions(command: Command): Command {
  return command.option('-c, --config <file>', 'TOML configuration file').option('-d, --data <dir>', 'data directory (overrides data_dir)');
}

let usedDataDir: string | undefined;

/** The data directory the command resolved, for error messages ("which directory was used"). */
export function dataDirInUse(): string | undefined {
  return usedDataDir;
}

/**
 * Loads the configuration. --data is relative to the working directory, like every other
 * path on a command line; a relative data_dir in a config file is relative to that file, so
 * the same file works from any directory.
 */
/** The environment variable that names the store's database, over [store] url, for every subcommand. */
export const STORE_URL_VARIABLE = 'POSTEL_STORE_URL';

export async function loadFor(options: CommonOptions, overrides: Overrides = {}): Promise<Config> {
  const storeUrl = process.env[STORE_URL_VARIABLE];
  const config = await loadConfig(options.config, {
    data_dir: options.data === undefined ? undefined : resolve(options.data),
    ...(storeUrl ? { 'store.url': storeUrl } : {}),
    ...overrides,
  });
  const dataDir = options.data === undefined && options.config !== undefined && !isAbsolute(config.data_dir) ? resolve(dirname(options.config), config.data_dir) : resolve(config.data_dir);
  usedDataDir = dataDir;
  return { ...config, data_dir: dataDir };
}

/** For commands that write: creates the data directory (0700) when missing. */
export async function ensureDataDir(config: Config): Promise<void> {
  const dir = resolve(config.data_dir);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    if (isErrno(err, 'EEXIST', 'ENOTDIR')) throw new CliError(`data directory ${dir} is not a directory; check --data or data_dir`, EX_CONFIG);
    throw err;
  }
}

/** For commands that only read: a data directory that is not there is a mistake, not "nothing". */
export async function requireDataDir(config: Config, exitCode = EX_CONFIG): Promise<void> {
  const dir = resolve(config.data_dir);
  try {
    if ((await stat(dir)).isDirectory()) return;
  } catch (err) {
    if (!isErrno(err, 'ENOENT', 'ENOTDIR')) throw err;
    throw new CliError(`data directory ${dir} does not exist; check --data or data_dir (or run \`postel user add\` to create it)`, exitCode);
  }
  throw new CliError(`data directory ${dir} is not a directory; check --data or data_dir`, exitCode);
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

export async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
