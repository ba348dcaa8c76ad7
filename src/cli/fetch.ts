import { readFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import {
  AccountBusyError,
  accountFailed,
  CredentialsError,
  DeliveryError,
  FetchConfigError,
  fetchAccount,
  loadFetchConfig,
  Pop3ClientError,
  PolicyError,
  runDaemon,
  StateFileError,
  type AccountResult,
  type AccountSettings,
  type FetchConfig,
} from '../client/index.js';
import { parseAuth } from '../client/fetch/config.js';
import { secretFrom } from '../client/fetch/credentials.js';
import { expandPath, parseDestination, parseDuration, parseServerUrl, SpecError } from '../client/fetch/specs.js';
import { CliError, EX_CONFIG, EX_TEMPFAIL, EX_UNAVAILABLE, EX_USAGE } from './exit-codes.js';
import { plainProgress, renderSummary, ttyProgress, type ProgressOutput } from './fetch-progress.js';
import { MetricsEndpointError, parseListen, serveMetrics } from '../http/metrics-endpoint.js';
import { FetchMetrics } from '../metrics/fetch-metrics.js';


interface FetchOptions {
  readonly config?: string;
  readonly data?: string;
  readonly account?: string[];
  readonly server?: string;
  readonly user?: string;
  readonly passwordEnv?: string;
  readonly passwordCommand?: string;
  readonly auth?: string;
  readonly deliver?: string;
  readonly recipient?: string;
  readonly keep?: boolean;
  readonly delete?: boolean;
  readonly deleteAfterDays?: number;
  readonly maxSize?: number;
  readonly oversize?: 'skip' | 'headers';
  readonly all?: boolean;
  readonly markSeen?: boolean;
  readonly insecureTls?: boolean;
  readonly caFile?: string;
  readonly allowPlaintext?: boolean;
  readonly timeout?: number;
  readonly daemon?: boolean;
  readonly interval?: string;
  readonly polls?: number;
  readonly metricsListen?: string;
  readonly verbose?: boolean;
}

export function registerFetch(program: Command): void {
  program
    .command('fetch')
    .description('download mail from POP3 accounts into a Maildir, an mbox, an MDA or an SMTP/LMTP server, exactly once per message')
    .option('-c, --config <file>', 'fetch configuration (TOML) with [[account]] tables (default ~/.config/postel/fetch.toml)')
    .option('-d, --data <dir>', 'directory for the per-account state files (default ~/.local/state/postel)')
    .option('--account <name...>', 'only these accounts of the configuration')
    .option('--server <url>', 'one account without a config file: pop3s://USER@HOST[:PORT] (TLS) or pop3://USER@HOST[:PORT] (STLS)')
    .option('--user <name>', 'user name, when not in the --server URL')
    .option('--password-env <var>', 'read the password (or OAuth token) from this environment variable')
    .option('--password-command <cmd>', 'run this command and use the first line it prints as the password')
    .option('--auth <method>', 'auto (default), user, apop, plain, login, cram-md5, scram-sha-256, xoauth2 or oauthbearer')
    .option('--deliver <dest>', "maildir:PATH, mbox:FILE, mda:'COMMAND', lmtp:HOST:PORT or smtp:HOST:PORT")
    .option('--recipient <address>', 'envelope recipient for smtp: and lmtp: (default: your user name)')
    .option('--keep', 'leave messages on the server and fetch only new ones (the default)')
    .option('--delete', 'delete messages on the server once delivered')
    .option('--delete-after-days <n>', 'with --keep: delete delivered messages N days after they were first seen', nonNegative)
    .option('--max-size <octets>', 'do not download messages larger than this whole', positive)
    .option('--oversize <what>', 'for messages over --max-size: skip, or headers (deliver the header only)', oversizeChoice)
    .option('--all', 'fetch every message, even those delivered before (one-off migration)')
    .option('--mark-seen', 'download nothing; record what is on the server now as delivered (when moving from fetchmail or getmail)')
    .option('--insecure-tls', 'do not verify the server certificate (test servers only)')
    .option('--ca-file <file>', 'trust this CA certificate (PEM) for the server')
    .option('--allow-plaintext', 'with pop3://: continue without encryption if the server has no STLS')
    .option('--timeout <seconds>', 'how long to wait for the server at each step', positive)
    .option('--daemon', 'keep running and poll every --interval')
    .option('--interval <duration>', 'poll interval for --daemon, e.g. 90s, 5m, 1h (default 5m)')
    .option('--polls <n>', 'with --daemon: stop after N polls of each account', positive)
    .option('--metrics-listen <host:port>', 'with --daemon: serve Prometheus metrics at http://HOST:PORT/metrics (loopback only)')
    .option('-v, --verbose', 'a line per delivered message')
    .action((options: FetchOptions) => fetch(options));
}

async function fetch(options: FetchOptions): Promise<void> {
  if (options.keep && options.delete) throw new CliError('--keep and --delete exclude each other', EX_USAGE);
  if (options.markSeen && (options.daemon || options.all)) throw new CliError('--mark-seen goes with neither --daemon nor --all', EX_USAGE);
  if (options.metricsListen !== undefined && !options.daemon) throw new CliError('--metrics-listen goes with --daemon', EX_USAGE);
  const config = options.server !== undefined ? commandLineAccount(options) : await configAccounts(options);
  const stateDir = options.data !== undefined ? expandPath(options.data, process.cwd()) : (config.stateDir ?? defaultStateDir());
  const dir = join(stateDir, 'fetch');
  const progress: ProgressOutput = process.stderr.isTTY && !options.verbose ? ttyProgress(process.stderr) : plainProgress((l) => process.stderr.write(l), options.verbose ?? false);
  const runOne = async (account: AccountSettings): Promise<AccountResult> => {
    const result = await fetchAccount(account, { stateDir: dir, onEvent: progress.onEvent, markSeen: options.markSeen ?? false });
    progress.accountDone(result);
    return result;
  };

  if (options.daemon) {
    const intervalMs = options.interval !== undefined ? duration(options.interval) : (config.intervalMs ?? 300_000);
    const controller = new AbortController();
    const stop = (): void => controller.abort();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    let anyFailed = false;
    const metricsAt = options.metricsListen ?? config.metricsListen;
    const metrics = metricsAt === undefined ? undefined : new FetchMetrics(config.accounts.map((a) => a.name));
    const endpoint = metrics === undefined || metricsAt === undefined ? undefined : await listenForMetrics(metrics, metricsAt);
    try {
      await runDaemon(config.accounts, {
        intervalMs,
        signal: controller.signal,
        ...(options.polls !== undefined ? { maxPolls: options.polls } : {}),
        fetch: runOne,
        onPoll(result, next) {
          metrics?.record(result);
          anyFailed ||= accountFailed(result);
          const status = accountFailed(result) ? 'FAILED' : 'ok';
          process.stdout.write(`${result.account}: ${status}, ${result.delivered} new, ${result.skipped} skipped, ${result.deleted} deleted, ${result.failed} failed; next poll in ${Math.round(next.delayMs / 1000)} s (${next.reason})\n`);
        },
      });
    } finally {
      await endpoint?.close();
    }
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    // A daemon stopped by a signal ends normally; --polls runs report like one-shot runs.
    if (options.polls !== undefined && anyFailed) throw new CliError('an account failed (see above)', EX_TEMPFAIL);
    return;
  }

  const results: AccountResult[] = [];
  for (const account of config.accounts) results.push(await runOne(account));
  process.stdout.write(renderSummary(results));
  const failed = results.filter(accountFailed);
  if (failed.length === 0) return;
  const permanent = failed.some((r) => !isTemporary(r));
  throw new CliError(`${failed.length} of ${results.length} account${results.length === 1 ? '' : 's'} failed`, permanent ? EX_UNAVAILABLE : EX_TEMPFAIL);
}

/** The daemon's /metrics, said on stderr; a bad address is a usage error. */
async function listenForMetrics(metrics: FetchMetrics, at: string): Promise<{ close(): Promise<void> }> {
  let where: { host: string; port: number };
  try {
    where = parseListen(at);
    const endpoint = await serveMetrics(metrics.registry, where);
    const host = endpoint.address.family === 'IPv6' ? `[${endpoint.address.address}]` : endpoint.address.address;
    process.stderr.write(`metrics on http://${host}:${endpoint.address.port}/metrics\n`);
    return endpoint;
  } catch (err) {
    if (err instanceof MetricsEndpointError) throw new CliError(err.message, EX_USAGE);
    throw err;
  }
}

/** Whether retrying later may fix the account without anyone changing anything. */
function isTemporary(result: AccountResult): boolean {
  const errors = [...(result.error ? [result.error] : []), ...(result.failures ?? []).map((f) => f.error)];
  return errors.every((err) => {
    if (err instanceof Pop3ClientError || err instanceof DeliveryError || err instanceof AccountBusyError) return err.temporary;
    if (err instanceof StateFileError || err instanceof PolicyError || err instanceof CredentialsError) return false;
    return true;
  });
}

/** The single account of `--server URL ... --deliver DEST`. */
function commandLineAccount(options: FetchOptions): FetchConfig {
  try {
    if (options.account !== undefined) throw new SpecError('--account selects accounts of a config file; it does not go with --server');
    const server = parseServerUrl(options.server as string);
    const user = options.user ?? server.user;
    if (user === undefined) throw new SpecError('give the user in the URL (pop3s://USER@HOST) or with --user');
    if (options.deliver === undefined) throw new SpecError('--server needs --deliver (e.g. --deliver maildir:~/Maildir)');
    if ((options.passwordEnv === undefined) === (options.passwordCommand === undefined)) throw new SpecError('give one of --password-env VAR or --password-command CMD');
    if (options.deleteAfterDays !== undefined && options.delete) throw new SpecError('--delete-after-days goes with --keep, not --delete');
    const secret = options.passwordEnv !== undefined ? secretFrom({ kind: 'env', variable: options.passwordEnv }) : secretFrom({ kind: 'command', command: options.passwordCommand as string });
    const defaultPort = server.tls === 'tls' ? 995 : 110;
    const account: AccountSettings = {
      name: `${user}@${server.host}${server.port === defaultPort ? '' : `:${server.port}`}`,
      host: server.host,
      port: server.port,
      tls: server.tls,
      allowPlaintext: options.allowPlaintext ?? false,
      tlsOptions: { rejectUnauthorized: !options.insecureTls, ...(options.caFile !== undefined ? { ca: readCa(options.caFile) } : {}) },
      timeoutMs: (options.timeout ?? 60) * 1000,
      user,
      auth: parseAuth(options.auth ?? 'auto'),
      secret,
      policy: {
        keep: !options.delete,
        ...(options.deleteAfterDays !== undefined ? { deleteAfterDays: options.deleteAfterDays } : {}),
        ...(options.maxSize !== undefined ? { maxSize: options.maxSize } : {}),
        oversize: options.oversize ?? 'skip',
        fetchAll: options.all ?? false,
      },
      destination: parseDestination(options.deliver, process.cwd(), options.recipient ?? userInfo().username),
    };
    return { stateDir: undefined, intervalMs: undefined, accounts: [account] };
  } catch (err) {
    if (err instanceof SpecError) throw new CliError(err.message, EX_USAGE);
    throw err;
  }
}

async function configAccounts(options: FetchOptions): Promise<FetchConfig> {
  const onlyServerFlags = ['user', 'auth', 'passwordEnv', 'passwordCommand', 'deliver', 'recipient', 'deleteAfterDays', 'maxSize', 'oversize', 'caFile'] as const;
  const stray = onlyServerFlags.filter((k) => options[k] !== undefined);
  if (stray.length > 0) throw new CliError(`--${stray.map(kebab).join(', --')} only go${stray.length === 1 ? 'es' : ''} with --server; put them in the config file`, EX_USAGE);
  const file = options.config ?? join(process.env['XDG_CONFIG_HOME'] || join(homedir(), '.config'), 'postel', 'fetch.toml');
  let config: FetchConfig;
  try {
    config = await loadFetchConfig(file);
  } catch (err) {
    if (err instanceof FetchConfigError) {
      const hint = options.config === undefined ? ' (or use --server URL --deliver DEST for one account)' : '';
      throw new CliError(`${err.message}${hint}`, EX_CONFIG);
    }
    throw err;
  }
  let accounts = config.accounts.map((a) => withFlags(a, options));
  if (options.account !== undefined) {
    const wanted = new Set(options.account);
    const unknown = [...wanted].filter((n) => !accounts.some((a) => a.name === n));
    if (unknown.length > 0) throw new CliError(`no account named ${unknown.join(', ')} in ${file} (have: ${accounts.map((a) => a.name).join(', ')})`, EX_USAGE);
    accounts = accounts.filter((a) => wanted.has(a.name));
  }
  return { ...config, accounts };
}

/** Flags that also apply to configured accounts: one-off overrides. */
function withFlags(account: AccountSettings, options: FetchOptions): AccountSettings {
  return {
    ...account,
    ...(options.insecureTls ? { tlsOptions: { ...account.tlsOptions, rejectUnauthorized: false } } : {}),
    ...(options.allowPlaintext ? { allowPlaintext: true } : {}),
    ...(options.timeout !== undefined ? { timeoutMs: options.timeout * 1000 } : {}),
    policy: {
      ...account.policy,
      ...(options.keep ? { keep: true } : {}),
      ...(options.delete ? { keep: false } : {}),
      ...(options.all ? { fetchAll: true } : {}),
    },
  };
}

function defaultStateDir(): string {
  return join(process.env['XDG_STATE_HOME'] || join(homedir(), '.local', 'state'), 'postel');
}

function readCa(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new SpecError(`cannot read --ca-file ${file}: ${(err as Error).message}`);
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

function duration(text: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new CliError((err as Error).message, EX_USAGE);
  }
}

function positive(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number >= 1');
  return Number(value);
}

function nonNegative(value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new InvalidArgumentError('must be a whole number >= 0');
  return Number(value);
}

function oversizeChoice(value: string): 'skip' | 'headers' {
  if (value !== 'skip' && value !== 'headers') throw new InvalidArgumentError('must be skip or headers');
  return value;
}
