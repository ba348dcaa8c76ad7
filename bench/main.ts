import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { popLoadFor } from './load/c-generator.js';
import { LoadPool } from './load/pool.js';
import { machineFacts } from './machine.js';
import { runMetricsOverhead } from './metrics-overhead.js';
import { bigMaildrop } from './scenarios/big-maildrop.js';
import { bulkRetr } from './scenarios/bulk.js';
import { churnScenario } from './scenarios/churn.js';
import { idleConns } from './scenarios/idle.js';
import { largeMessage } from './scenarios/large-message.js';
import { smtpIntake } from './scenarios/smtp.js';
import type { Scenario, ScenarioResult } from './scenarios/types.js';
import { median, type Metric } from './measure.js';
import { rows, table, type ScenarioRun } from './report.js';
import type { ServerUnderTest } from './servers/common.js';
import { dovecotUnavailable, mailOwner, startDovecot } from './servers/dovecot.js';
import { postelDataLayout, startPostel } from './servers/postel.js';
import { postgresForBench, type BenchDatabase } from './servers/postgres.js';
import { FULL, POSTGRES_LARGE_MESSAGE, QUICK } from './settings.js';
import { ALL_PARTS, buildWorld, passwdText, populate } from './world.js';

export interface BenchOptions {
  readonly quick: boolean;
  /** Scenario names (or prefixes) to run; empty: all. */
  readonly only: readonly string[];
  readonly dovecot: boolean;
  /** Keep the temporary directory (data, logs) for inspection. */
  readonly keep: boolean;
  /** Run postel under --cpu-prof; profiles go to .tmp/bench-profiles/. */
  readonly profile: boolean;
  /** Append the results to bench/results/results.jsonl. */
  readonly record: boolean;
  /** postel's pop3.workers; the CLI defaults it to the number of cores. */
  readonly workers: number;
  /** Where postel keeps the mail: its Maildirs, or a PostgreSQL cluster started for the run. */
  readonly store: 'maildir' | 'postgres';
  /** Drive POP3 from Node worker threads even where the C generator can be built. */
  readonly nodeLoadgen: boolean;
  /**
   * Instead of Dovecot, a second postel with `[metrics] enabled = false`: what recording
   * metrics costs (login_churn and bulk_retr unless --only says otherwise; metrics-overhead.ts).
   * Not recorded.
   */
  readonly metricsOverhead?: boolean;
  /** With metricsOverhead: both servers with metrics (an A/A run: the method's own noise). */
  readonly aa?: boolean;
}

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const SCENARIOS: readonly Scenario[] = [
  churnScenario('login_churn', 'PLAIN', false),
  churnScenario('login_churn/sha512-crypt', 'SHA512-CRYPT', false),
  churnScenario('login_churn/scrypt', 'SCRYPT', false, 'postel'),
  churnScenario('tls_churn', 'PLAIN', true),
  bulkRetr,
  bigMaildrop,
  largeMessage,
  idleConns,
  smtpIntake,
];

const progress = (msg: string): void => {
  process.stderr.write(`bench: ${msg}\n`);
};

/** Runs the benchmark; returns the exit code (0 unless a scenario failed outright). */
export async function runBench(options: BenchOptions): Promise<number> {
  if (options.metricsOverhead) return runMetricsOverhead(options, REPO, progress);
  const started = performance.now();
  // On PostgreSQL the full run's large message is 1 GB: the store must stream it chunk by
  // chunk, and large_message reports the RETR rate and postel's peak extra memory for it.
  const settings = options.quick ? QUICK : options.store === 'postgres' ? { ...FULL, largeMessageSize: POSTGRES_LARGE_MESSAGE } : FULL;
  const only = options.only;
  const scenarios = SCENARIOS.filter((s) => only.length === 0 || only.some((o) => s.name === o || s.name.startsWith(`${o}/`)));
  if (scenarios.length === 0) throw new Error(`no scenario matches ${options.only.join(', ')}; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  const noDovecot = options.dovecot ? await dovecotUnavailable() : 'not asked for (--no-dovecot)';
  if (noDovecot) progress(`Dovecot is not measured: ${noDovecot}`);
  checkFileLimit(settings.idleSessions);
  const machine = machineFacts(REPO);

  const work = mkdtempSync(join(tmpdir(), 'postel-bench-'));
  chmodSync(work, 0o755);
  const servers: ServerUnderTest[] = [];
  let pool: LoadPool | null = null;
  // Outlives the postel servers, which are started afresh for every scenario.
  let database: BenchDatabase | null = null;
  const runs: ScenarioRun[] = [];
  let loadDescription = '';
  const serverFacts: { name: string; version: string; notes: readonly string[] }[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(servers.splice(0).map((s) => s.stop().catch(() => undefined)));
  };
  const onSignal = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const owner = noDovecot ? null : mailOwner();
    progress(`${settings.mode} run in ${work}`);
    const parts = ALL_PARTS.filter((part) => scenarios.some((s) => s.uses.includes(part)));
    const world = buildWorld(join(work, 'corpus'), settings, owner, progress, parts);
    progress('hashing passwords and making Maildirs');
    const passwd = await passwdText(world);
    const postelDir = join(work, 'postel');
    const { usersFile, mailRoot } = postelDataLayout(postelDir);
    mkdirSync(mailRoot, { recursive: true, mode: 0o700 });
    writeFileSync(usersFile, passwd, { mode: 0o600 });
    populate(world, mailRoot, null);
    database = options.store === 'postgres' ? await postgresForBench(postelDir, progress) : null;
    const profileDir = join(REPO, '.tmp', 'bench-profiles');
    const dovecotDir = join(work, 'dovecot');
    if (!noDovecot && owner) {
      mkdirSync(join(dovecotDir, 'mail'), { recursive: true });
      chmodSync(dovecotDir, 0o755);
      populate(world, join(dovecotDir, 'mail'), owner);
    }
    // Every scenario gets freshly started servers: its first round is what a server serves
    // after a restart (a container, a rolling deploy), not what a warmed-up one does.
    const startServers = async (): Promise<void> => {
      servers.push(
        await startPostel({
          dataDir: postelDir,
          maxSessions: settings.idleSessions,
          workers: options.workers,
          ...(options.profile ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] } : {}),
          ...(database !== null ? { database } : {}),
        }),
      );
      if (!noDovecot && owner) servers.push(await startDovecot({ dir: dovecotDir, passwd, maxSessions: settings.idleSessions, certificate: 'rsa2048' }));
    };
    await startServers();
    progress(`setup took ${((performance.now() - started) / 1000).toFixed(1)} s`);
    pool = new LoadPool(settings.threads);
    const load = await popLoadFor(pool, work, options.nodeLoadgen, progress);
    loadDescription = load.description;
    progress(`POP3 load generator: ${load.description}`);

    for (const [n, scenario] of scenarios.entries()) {
      if (n > 0) {
        await stopAll();
        await startServers();
      }
      const rounds = scenario.rounds?.(settings) ?? 1;
      const results = new Map<ServerUnderTest, ScenarioResult[]>();
      const failed = new Map<ServerUnderTest, string>();
      const skipped = new Map<ServerUnderTest, string>();
      const seconds = new Map<ServerUnderTest, number>();
      for (const server of servers) {
        const why = scenario.only && scenario.only !== server.name ? 'postel only' : scenario.skipReason?.(server);
        if (why) skipped.set(server, why);
      }
      for (let round = 0; round < rounds; round++) {
        // A B, B A, ...: whatever else the machine does falls on both servers alike.
        const order = round % 2 === 0 ? servers : [...servers].reverse();
        for (const server of order) {
          if (skipped.has(server) || failed.has(server)) continue;
          progress(`${scenario.name} on ${server.name}${rounds > 1 ? `, round ${round + 1} of ${rounds}` : ''}`);
          const t0 = performance.now();
          try {
            const r = await scenario.run({ server, pool, load, settings, world, progress, round, rounds });
            results.set(server, [...(results.get(server) ?? []), r]);
          } catch (err) {
            const error = err instanceof Error ? err.message : String(err);
            progress(`${scenario.name} on ${server.name} failed: ${error}`);
            failed.set(server, `failed: ${error}`);
          }
          seconds.set(server, (seconds.get(server) ?? 0) + (performance.now() - t0) / 1000);
        }
      }
      for (const server of servers) {
        const why = skipped.get(server) ?? failed.get(server);
        const list = results.get(server);
        if (why || !list) {
          runs.push({ scenario: scenario.name, server: server.name, metrics: [], ...(skipped.has(server) ? { skipped: why as string } : { error: why ?? 'no result' }) });
          continue;
        }
        const r = mergeRounds(list);
        runs.push({ scenario: scenario.name, server: server.name, metrics: r.metrics, ...(r.cpu ? { cpu: r.cpu } : {}), ...(r.details ? { details: r.details } : {}) });
        process.stdout.write(`${JSON.stringify({ scenario: scenario.name, server: server.name, rounds: list.length, seconds: seconds.get(server), ...Object.fromEntries(r.metrics.map((m) => [`${m.metric}${m.unit ? ` (${m.unit})` : ''}`, m.value])), cpu: r.cpu, details: r.details })}\n`);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await pool?.close();
    await stopAll();
    await database?.stop();
    if (options.keep) progress(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }

  const seconds = (performance.now() - started) / 1000;
  const date = new Date().toISOString();
  const all = rows(runs, options.store);
  const out = [
    '',
    `postel vs Dovecot, ${settings.mode} run${options.store === 'postgres' ? ' with postel on PostgreSQL' : ''}, ${date.slice(0, 16).replace('T', ' ')} UTC, ${seconds.toFixed(0)} s`,
    `${machine.cpuModel}, ${machine.cores} cores, ${(machine.memoryBytes / 2 ** 30).toFixed(0)} GiB, Linux ${machine.kernel}, node ${machine.node}; load average at start ${machine.loadAverageAtStart}`,
    ...serverFacts.map((s) => `${s.name} ${s.version}: ${s.notes.join('; ')}`),
    `POP3 load generator: ${loadDescription}; idle sessions and SMTP: Node worker threads`,
    '',
    table(all, runs),
    '',
    'CPU %: server / load generator / everything else on the machine / stolen by the hypervisor, in % of one core, over the measured part;',
    '  "+ db N": the PostgreSQL cluster postel stores into (--store postgres), counted apart from the rest.',
    'Ratios are postel / Dovecot; MB = 10^6 bytes.',
  ];
  process.stdout.write(`${out.join('\n')}\n`);
  if (options.record) {
    const file = join(REPO, 'bench', 'results', 'results.jsonl');
    mkdirSync(dirname(file), { recursive: true });
    const record = { date, mode: settings.mode, store: options.store, workers: options.workers, seconds, machine, loadGenerator: loadDescription, servers: serverFacts, dovecotSkipped: noDovecot ?? null, runs, rows: all };
    appendFileSync(file, `${JSON.stringify(record)}\n`);
    progress(`results appended to ${file}`);
  }
  return runs.some((r) => r.error) ? 1 : 0;
}

/**
 * One result from several rounds: each figure of the first round (on the freshly started
 * server) and, beside it, the median of the later rounds as "<figure>, steady"; the CPU
 * shares are the first round's.
 */
function mergeRounds(list: readonly ScenarioResult[]): ScenarioResult {
  const first = list[0] as ScenarioResult;
  if (list.length === 1) return first;
  const later = list.slice(1);
  const steady = first.metrics.map((m) => {
    const values = later.map((r) => r.metrics.find((x) => x.metric === m.metric)?.value).filter((v): v is number => typeof v === 'number');
    return { ...m, metric: `${m.metric}, steady`, value: median(values) };
  });
  const metrics = first.metrics.flatMap((m, i) => [m, steady[i] as Metric]);
  return { metrics, ...(first.cpu ? { cpu: first.cpu } : {}), details: { rounds: list.map((r) => ({ metrics: Object.fromEntries(r.metrics.map((m) => [m.metric, m.value])), ...r.details })) } };
}

/** Each held session is a socket here and one in the server; the soft limit must allow them. */
function checkFileLimit(sessions: number): void {
  const limits = readFileSync('/proc/self/limits', 'latin1');
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
  const soft = m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? Infinity);
  if (soft < sessions + 500) throw new Error(`the open-file limit (${soft}) is too low for ${sessions} sessions; raise it (ulimit -n ${sessions + 1000})`);
}
