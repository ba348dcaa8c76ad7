import { readFile } from 'node:fs/promises';
import { parse as parseToml } from 'smol-toml';
import { describeConfigIssues } from './issues.js';
import { configSchema, type Config } from './schema.js';

/** Invalid configuration: the message names the file and the key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Command-line flags that override the file, as dotted keys (e.g. "pop3.port"). */
export type Overrides = Readonly<Record<string, unknown>>;

export async function loadConfig(file: string | undefined, overrides: Overrides = {}): Promise<Config> {
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
      throw new ConfigError(`cannot read config file ${file} (${why}); check -c/--config`);
    }
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`${file}: invalid TOML: ${(err as Error).message}`);
    }
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) setPath(raw, key.split('.'), value);
  }
  return parseConfig(raw, file ?? 'configuration');
}

/** Keys that were replaced: a config that still sets one is told what to use instead. */
const REPLACED_KEYS: readonly (readonly [string, string])[] = [
  ['pop3.auth_failure_delay_ms', 'auth.failure_response_ms (every failed login, on every listener, is answered that long after it began)'],
  ['smtp.submission.auth_failure_delay_ms', 'auth.failure_response_ms (every failed login, on every listener, is answered that long after it began)'],
  ['auth.max_failures_per_user', 'auth.max_user_delay (failures for a user delay logins from new addresses; the right password is never refused)'],
];

export function parseConfig(raw: unknown, source = 'configuration'): Config {
  const replaced = REPLACED_KEYS.filter(([key]) => hasPath(raw, key.split('.'))).map(([key, instead]) => `${key}: no longer exists; use ${instead}`);
  if (replaced.length > 0) throw new ConfigError(`invalid ${source}:\n  ${replaced.join('\n  ')}`);
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeConfigIssues(result.error.issues);
  throw new ConfigError(`invalid ${source}:\n  ${problems.join('\n  ')}`);
}

function hasPath(raw: unknown, path: readonly string[]): boolean {
  let node = raw;
  for (const key of path) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}
