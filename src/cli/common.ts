import { InvalidArgumentError, type Command } from 'commander';
import { loadConfig, type Overrides } from '../config/load.js';
import type { Config } from '../config/schema.js';

export interface CommonOptions {
  readonly config?: string;
  readonly data?: string;
}

/** --config and --data on every subcommand, so all of them can share one data directory. */
export function withCommonOptions(command: Command): Command {
  return command.option('-c, --config <file>', 'TOML configuration file').option('-d, --data <dir>', 'data directory (overrides data_dir)');
}

export function loadFor(options: CommonOptions, overrides: Overrides = {}): Promise<Config> {
  return loadConfig(options.config, { data_dir: options.data, ...overrides });
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
