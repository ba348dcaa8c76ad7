import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { describeConfigIssues } from '../../config/issues.js';
import type { TlsMode } from '../connect.js';
import { isSaslMechanismName } from '../sasl/index.js';
import type { AccountSettings, AuthMethod } from './account.js';
import { secretFrom, type SecretSource } from './credentials.js';
import { expandPath, parseDestination, parseDuration, parseServerUrl, SpecError } from './specs.js';

/** The fetch configuration cannot be used; the message names the file and the key. */
export class FetchConfigError extends Error {
  override readonly name = 'FetchConfigError';
}

const DEFAULT_TIMEOUT_SECONDS = 60;

const accountSchema = z
  .object({
    /** Names the state file and the progress lines; default USER@HOST. */
    name: z.string().min(1).max(200).optional(),
    /** pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]; or host/port/tls/user below. */
    server: z.string().min(1).optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    tls: z.enum(['implicit', 'starttls', 'none']).optional(),
    user: z.string().min(1).optional(),
    /** With tls = "starttls": go on without encryption when the server has no STLS. */
    allow_plaintext: z.boolean().default(false),
    /** Do not verify the server certificate (self-signed test servers only). */
    insecure_tls: z.boolean().default(false),
    /** Extra CA certificate(s), PEM, to verify the server with. */
    ca_file: z.string().min(1).optional(),
    auth: z.string().default('auto'),
    password: z.string().min(1).optional(),
    password_env: z.string().min(1).optional(),
    password_command: z.string().min(1).optional(),
    /** Leave mail on the server (true) or delete it once delivered (false). */
    keep: z.boolean().default(true),
    /** With keep: delete delivered mail this many days after it was first seen. */
    delete_after_days: z.number().int().min(0).optional(),
    /** Messages over this size (octets) are skipped or fetched as headers only. */
    max_size: z.number().int().min(1).optional(),
    oversize: z.enum(['skip', 'headers']).default('skip'),
    /** Fetch everything, even what was delivered before (one-off migration). */
    fetch_all: z.boolean().default(false),
    /** maildir:PATH, mbox:FILE, mda:COMMAND, lmtp:HOST:PORT or smtp:HOST:PORT. */
    deliver: z.string().min(1),
    /** Envelope recipient for smtp:/lmtp: destinations. */
    recipient: z.string().min(1).optional(),
    /** Seconds to wait for the server at each step. */
    timeout: z.number().int().min(1).max(3600).default(DEFAULT_TIMEOUT_SECONDS),
  })
  .strict();

export const fetchConfigSchema = z
  .object({
    /** Where state files go (default ~/.local/state/postel). */
    state_dir: z.string().min(1).optional(),
    /** Poll interval for --daemon, e.g. "5m". */
    interval: z.string().min(1).optional(),
    /** With --daemon: serve GET /metrics (Prometheus) on this loopback HOST:PORT, e.g. "127.0.0.1:9125". */
    metrics_listen: z.string().min(1).optional(),
    account: z.array(accountSchema).min(1),
  })
  .strict();

export type FetchConfigFile = z.infer<typeof fetchConfigSchema>;
export type AccountConfig = z.infer<typeof accountSchema>;

export interface FetchConfig {
  readonly stateDir: string | undefined;
  readonly intervalMs: number | undefined;
  /** HOST:PORT for the daemon's /metrics (metrics_listen). */
  readonly metricsListen?: string;
  readonly accounts: readonly AccountSettings[];
}

export async function loadFetchConfig(file: string): Promise<FetchConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new FetchConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (err) {
    throw new FetchConfigError(`${file}: invalid TOML: ${(err as Error).message}`);
  }
  return parseFetchConfig(raw, file);
}

export function parseFetchConfig(raw: unknown, file: string): FetchConfig {
  const parsed = fetchConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeConfigIssues(parsed.error.issues);
    throw new FetchConfigError(`invalid ${file}:\n  ${problems.join('\n  ')}`);
  }
  const base = dirname(file);
  const names = new Set<string>();
  const accounts = parsed.data.account.map((account, i) => {
    try {
      const settings = accountSettings(account, base);
      if (names.has(settings.name)) throw new SpecError(`two accounts are named ${settings.name}; give one a different name`);
      names.add(settings.name);
      return settings;
    } catch (err) {
      if (err instanceof SpecError || err instanceof FetchConfigError) throw new FetchConfigError(`${file}: account[${i}]${account.name ? ` (${account.name})` : ''}: ${err.message}`);
      throw err;
    }
  });
  let intervalMs: number | undefined;
  try {
    intervalMs = parsed.data.interval === undefined ? undefined : parseDuration(parsed.data.interval);
  } catch (err) {
    throw new FetchConfigError(`${file}: interval: ${(err as Error).message}`);
  }
  return {
    stateDir: parsed.data.state_dir === undefined ? undefined : expandPath(parsed.data.state_dir, base),
    intervalMs,
    ...(parsed.data.metrics_listen === undefined ? {} : { metricsListen: parsed.data.metrics_listen }),
    accounts,
  };
}

/** One account from the file's keys; relative paths are taken from the file's directory. */
export function accountSettings(account: AccountConfig, base: string): AccountSettings {
  const fromUrl = account.server === undefined ? undefined : parseServerUrl(account.server);
  if (fromUrl && (account.host !== undefined || account.tls !== undefined)) throw new SpecError('give either server = "pop3s://..." or host/tls, not both');
  const host = fromUrl?.host ?? account.host;
  if (host === undefined) throw new SpecError('needs server = "pop3s://USER@HOST" or host = "..."');
  const tls: TlsMode = fromUrl?.tls ?? ({ implicit: 'tls', starttls: 'starttls', none: 'none' } as const)[account.tls ?? 'implicit'];
  const port = account.port ?? fromUrl?.port ?? (tls === 'tls' ? 995 : 110);
  const user = account.user ?? fromUrl?.user;
  if (user === undefined) throw new SpecError('needs a user (user = "..." or pop3s://USER@HOST)');
  const auth = parseAuth(account.auth);
  const sources = [account.password, account.password_env, account.password_command].filter((s) => s !== undefined);
  if (sources.length !== 1) throw new SpecError('needs exactly one of password, password_env, password_command');
  const secret: SecretSource =
    account.password !== undefined
      ? { kind: 'value', value: account.password }
      : account.password_env !== undefined
        ? { kind: 'env', variable: account.password_env }
        : { kind: 'command', command: account.password_command as string };
  if (account.delete_after_days !== undefined && !account.keep) throw new SpecError('delete_after_days only makes sense with keep = true');
  return {
    name: account.name ?? `${user}@${host}${port === (tls === 'tls' ? 995 : 110) ? '' : `:${port}`}`,
    host,
    port,
    tls,
    allowPlaintext: account.allow_plaintext,
    tlsOptions: {
      rejectUnauthorized: !account.insecure_tls,
      ...(account.ca_file !== undefined ? { ca: readCa(expandPath(account.ca_file, base)) } : {}),
    },
    timeoutMs: account.timeout * 1000,
    user,
    auth,
    secret: secretFrom(secret),
    policy: {
      keep: account.keep,
      ...(account.delete_after_days !== undefined ? { deleteAfterDays: account.delete_after_days } : {}),
      ...(account.max_size !== undefined ? { maxSize: account.max_size } : {}),
      oversize: account.oversize,
      fetchAll: account.fetch_all,
    },
    destination: parseDestination(account.deliver, base, account.recipient),
  };
}

export function parseAuth(text: string): AuthMethod {
  const upper = text.toUpperCase();
  if (upper === 'AUTO') return 'auto';
  if (upper === 'USER') return 'user';
  if (upper === 'APOP') return 'apop';
  if (isSaslMechanismName(upper)) return upper;
  throw new SpecError(`unknown auth ${JSON.stringify(text)}: use auto, user, apop, plain, login, cram-md5, scram-sha-256, xoauth2 or oauthbearer`);
}

function readCa(path: string): string {
  try {
    // Read once at start: a missing file is a configuration error, reported before any fetch.
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new SpecError(`cannot read ca_file ${path}: ${(err as Error).message}`);
  }
}
