import { InvalidArgumentError, type Command } from 'commander';
import { availableParallelism } from 'node:os';
import { CliError, EX_SOFTWARE } from './exit-codes.js';

interface BenchCliOptions {
  readonly quick?: boolean;
  readonly only?: string;
  readonly dovecot: boolean;
  readonly keep?: boolean;
  readonly profile?: boolean;
  readonly record: boolean;
  readonly workers?: number;
  readonly store: 'maildir' | 'postgres';
  readonly nodeLoadgen?: boolean;
  readonly metricsOverhead?: boolean;
  readonly aa?: boolean;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark postel against Dovecot on loopback (from a source checkout; see bench/README.md)')
    .option('--quick', 'smaller sizes, under a minute')
    .option('--only <names>', 'comma-separated scenarios, e.g. login_churn,bulk_retr')
    .option('--no-dovecot', 'measure postel alone')
    .option('--keep', 'keep the temporary data directory and logs')
    .option('--profile', 'run the postel server under node --cpu-prof (profiles in .tmp/bench-profiles/)')
    .option('--node-loadgen', 'drive POP3 from Node worker threads instead of the C load generator')
    .option('--no-record', 'do not append the results to bench/results/results.jsonl')
    .option('--metrics-overhead', 'postel with metrics against postel with [metrics] enabled = false, instead of Dovecot (login_churn and bulk_retr unless --only; not recorded)')
    .option('--aa', 'with --metrics-overhead: both servers with metrics, to see what the comparison reads when there is nothing to find')
    .option('--workers <n>', 'postel pop3.workers (default: the number of cores)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 256) throw new InvalidArgumentError('must be a whole number from 1 to 256');
      return n;
    })
    .option('--store <kind>', 'postel keeps mail in "maildir" or "postgres" (a PostgreSQL 15 cluster started for the run)', (v: string) => {
      if (v !== 'maildir' && v !== 'postgres') throw new InvalidArgumentError('must be maildir or postgres');
      return v;
    }, 'maildir')
    .action(async (options: BenchCliOptions) => {
      // Loaded on demand: the benchmark is not part of the server, and a package install
      // does not ship it.
      let bench: typeof import('../../bench/main.js');
      try {
        bench = await import('../../bench/main.js');
      } catch (err) {
        throw new CliError(`the benchmark is not available in this installation (${(err as Error).message})`, EX_SOFTWARE);
      }
      const code = await bench.runBench({
        quick: options.quick === true,
        only: options.only ? options.only.split(',').map((s) => s.trim()).filter(Boolean) : [],
        dovecot: options.dovecot,
        keep: options.keep === true,
        profile: options.profile === true,
        record: options.record,
        workers: options.workers ?? availableParallelism(),
        store: options.store,
        nodeLoadgen: options.nodeLoadgen === true,
        metricsOverhead: options.metricsOverhead === true,
        aa: options.aa === true,
      });
      process.exitCode = code;
    });
}
