import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessEnd } from './exit-cleanup.js';
import { freePort } from './processes.js';

/*
 * A real PostgreSQL cluster for tests (Debian package postgresql-15): initdb and pg_ctl in a
 * temporary directory, listening on 127.0.0.1 on a free port with trust authentication.
 * initdb refuses to run as root, so as root the cluster belongs to the `postgres` user and
 * every command runs through runuser. Nothing is left running or on disk after stop().
 *
 *   const skip = postgresUnavailable();
 *   describe('...', { skip }, () => { ... const pg = await startPostgres(); ... await pg.stop(); });
 */

const BIN = '/usr/lib/postgresql/15/bin';
const OWNER = 'postgres';

export interface PostgresCluster {
  readonly port: number;
  readonly dir: string;
  /** postgres://postgres@127.0.0.1:PORT/NAME */
  url(database?: string): string;
  /** A new empty database; its URL. */
  createDatabase(name?: string): Promise<string>;
  /** The postmaster's pid (from postmaster.pid): the root of the cluster's processes. */
  pid(): number;
  /** pg_ctl stop -m fast (sessions are cut), then start again on the same port. */
  restart(): Promise<void>;
  /** pg_ctl stop -m immediate: the server is gone until start(). */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

let databases = 0;

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (!existsSync(join(BIN, 'initdb')) || !existsSync(join(BIN, 'pg_ctl'))) {
    return `PostgreSQL 15 is not installed (${BIN}; Debian package postgresql-15, which npm test installs as root)`;
  }
  if (isRoot() && spawnSync('id', ['-u', OWNER], { stdio: 'ignore' }).status !== 0) {
    return `running as root but there is no ${OWNER} user to own the test cluster`;
  }
  return undefined;
}

export async function startPostgres(): Promise<PostgresCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'postel-pg-'));
  const data = join(dir, 'data');
  const sockets = join(dir, 'run');
  await mkdir(sockets);
  if (isRoot()) {
    const uid = Number(run('id', ['-u', OWNER]).trim());
    const gid = Number(run('id', ['-g', OWNER]).trim());
    await chown(dir, uid, gid);
    await chown(sockets, uid, gid);
  }
  await chmod(dir, 0o700);
  asOwner(join(BIN, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${sockets}`,
    "-c listen_addresses='127.0.0.1'",
    // Test clusters are thrown away: durability across a machine crash buys nothing here.
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c max_connections=200',
  ].join(' ');
  const start = async (): Promise<void> => {
    asOwner(join(BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', '-t', '60', 'start']);
  };
  const stopWith = async (mode: string): Promise<void> => {
    asOwner(join(BIN, 'pg_ctl'), ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  // Registered before the start: a file killed while pg_ctl waits still loses its cluster.
  const dropAtExit = onProcessEnd(() => {
    try {
      asOwner(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  await start();
  const url = (database = 'postgres'): string => `postgres://postgres@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    port,
    dir,
    url,
    pid: () => Number(readFileSync(join(data, 'postmaster.pid'), 'latin1').split('\n')[0]),
    async createDatabase(name = `t${process.pid}_${++databases}`): Promise<string> {
      asOwner(join(BIN, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-qAtc', `CREATE DATABASE "${name}"`]);
      return url(name);
    },
    restart: async () => {
      await stopWith('fast');
      await start();
    },
    kill: () => stopWith('immediate'),
    start,
    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      dropAtExit();
      try {
        await stopWith('immediate');
      } catch {
        // Already stopped (kill() without start()).
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function asOwner(program: string, args: string[]): string {
  return isRoot() ? run('runuser', ['-u', OWNER, '--', program, ...args]) : run(program, args);
}

function run(program: string, args: string[]): string {
  const result = spawnSync(program, args, { encoding: 'utf8', cwd: '/' });
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr || result.stdout}`);
  }
  return result.stdout;
}
