#!/usr/bin/env node
// `npm test`: makes sure the external clients the tests drive are installed (through apt-get
// when run as root on Debian, as CI is), builds, and runs every test with node's test runner.
// Tests that need a program that is still missing skip themselves and say so.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Program the tests run -> Debian package that provides it. */
const programs = {
  curl: 'curl',
  python3: 'python3',
  openssl: 'openssl',
  // swaks needs Net::SSLeay for STARTTLS.
  swaks: ['swaks', 'libnet-ssleay-perl'],
  fetchmail: 'fetchmail',
  mpop: 'mpop',
  // A real POP3 server for the client's interop tests (test/support/dovecot.ts).
  dovecot: 'dovecot-pop3d',
  // A real PostgreSQL for the PostgreSQL store's tests (test/support/postgres.ts), and
  // HAProxy in front of two postel nodes.
  '/usr/lib/postgresql/15/bin/initdb': 'postgresql',
  haproxy: 'haproxy',
  // The console's browser tests drive Debian's Chromium through playwright-core.
  chromium: ['chromium', 'chromium-driver'],
};

const onPath = (program) => spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;

const missing = Object.entries(programs).filter(([program]) => !onPath(program));
if (missing.length > 0) {
  const packages = [...new Set(missing.flatMap(([, pkg]) => pkg))];
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && onPath('apt-get')) {
    console.log(`test: installing ${packages.join(' ')} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { stdio: 'inherit', env });
    if (install.status !== 0) console.log(`test: apt-get install failed; tests needing ${packages.join(', ')} will skip`);
  } else {
    console.log(`test: not installed: ${packages.join(', ')} (run as root on Debian to install); the tests that need them will skip`);
  }
}

const tsc = join(root, 'node_modules', '.bin', 'tsc');
if (!existsSync(tsc)) {
  console.error('test: dependencies are not installed; run `npm install` first');
  process.exit(1);
}
// A fresh build: tests compiled from files since moved or deleted must not run.
rmSync(join(root, 'dist'), { recursive: true, force: true });
const build = spawnSync(tsc, ['-p', join(root, 'tsconfig.json')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) process.exit(build.status ?? 1);
const wasm = spawnSync(process.execPath, [join(root, 'scripts', 'build-wasm.mjs')], { stdio: 'inherit', cwd: root });
if (wasm.status !== 0) process.exit(wasm.status ?? 1);
// The web console (dist/console), which the HTTP server serves and the browser tests load.
const vite = spawnSync(join(root, 'node_modules', '.bin', 'vite'), ['build', '-c', join(root, 'console', 'vite.config.mjs')], { stdio: 'inherit', cwd: root });
if (vite.status !== 0) process.exit(vite.status ?? 1);

// No import circle in src/: a module graph with cycles depends on evaluation order, and a
// newcomer cannot tell which layer stands on which.
const { default: madge } = await import('madge');
const graph = await madge(join(root, 'dist', 'src'), { fileExtensions: ['js'] });
const circles = graph.circular();
if (circles.length > 0) {
  console.error(`test: import circles in src/:\n${circles.map((c) => `  ${c.join(' -> ')}`).join('\n')}`);
  process.exit(1);
}

// Explicit *.test.js files: given a directory, node 20 would also run fixtures and helpers.
const testFiles = ['dist/src', 'dist/test']
  .flatMap((dir) => readdirSync(join(root, dir), { recursive: true }).map((f) => join(dir, String(f))))
  .filter((f) => f.endsWith('.test.js'))
  .sort();
// `npm test -- postgres test/fetch-cli.test.ts`: only the test files whose source path
// contains one of the arguments (after the build and checks above, which always run).
const wanted = process.argv.slice(2).map((a) => a.replace(/^\.\//, '').replace(/\.ts$/, '.js'));
const selected = wanted.length === 0 ? testFiles : testFiles.filter((f) => wanted.some((w) => f.slice('dist/'.length).includes(w)));
if (selected.length === 0) {
  console.error(`test: no test file matches ${wanted.join(', ')}`);
  process.exit(1);
}
// The timeout catches a hang, not slowness: the longest files take about 60 s on a quiet
// machine and twice that while the host steals a core (fetch-cli.test.js timed out at 120 s
// in a fresh-clone CI run with 43 % steal).
const args = ['--test', '--test-concurrency=2', '--test-timeout=300000', ...selected];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
