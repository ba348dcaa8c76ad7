import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onProcessEnd } from './exit-cleanup.js';
import { freePort, stopChild, waitForGreeting } from './processes.js';
import { waitFor } from './wait-for.js';

/*
 * A real Dovecot POP3 server (Debian package dovecot-pop3d), for the interoperability tests
 * and for the benchmark (bench/servers/dovecot.ts). Each instance has a directory of its
 * own: configuration, base_dir, state_dir, log file, passwd-file, a self-signed certificate
 * and a Maildir root, and listens on free loopback ports for POP3 (110-style, with STLS)
 * and POP3S (implicit TLS). Nothing of the system's Dovecot configuration is read, and
 * nothing is left running (or, in a temporary directory, on disk) after stop().
 *
 *   const reason = await dovecotUnavailable();
 *   test('...', { skip: reason }, async () => {
 *     const dovecot = await startDovecot({ users: { alice: 'secret' } });
 *     try { await dovecot.deliver('alice', 'Subject: hi\n\nbody\n'); ... } finally { await dovecot.stop(); }
 *   });
 */

const DOVECOT = '/usr/sbin/dovecot';
const MAIL_USER = 'vmail';
const READY_TIMEOUT_MS = 10_000;

export interface DovecotOptions {
  /**
   * User name -> password. Stored as {PLAIN}, so APOP, CRAM-MD5 and SCRAM work too. Give
   * every user a test needs here: Dovecot re-reads a changed passwd-file at most once a
   * second, so users added later would not be seen reliably.
   */
  readonly users?: Readonly<Record<string, string>>;
  /** Dovecot auth_mechanisms; APOP is enabled with "apop". */
  readonly mechanisms?: readonly string[];
  /** Appended to the generated dovecot.conf (e.g. "pop3_lock_session = no"). */
  readonly extraConfig?: string;
  /**
   * The benchmark's Dovecot: the passwd-file text as given (hashed users, whose Maildirs the
   * caller writes), Dovecot's defaults kept, process and client limits raised for this many
   * logged-in sessions, and the directory kept at stop(). Without it: test settings (no
   * failure delay, sessions locked like postel's) in a temporary directory.
   */
  readonly bench?: { readonly dir: string; readonly passwd: string; readonly maxSessions: number };
  /** Default ECDSA P-256, made in milliseconds. */
  readonly certificate?: CertificateKind;
  /** How long stop() waits for a clean exit before SIGKILL; default 5 s. */
  readonly stopTimeoutMs?: number;
  /**
   * Serve the Maildirs under this directory (ROOT/USER) instead of a fresh one: it outlives
   * stop(), so a test can hand the same mail to postel and back. Made if missing; users'
   * Maildirs that exist are left as they are.
   */
  readonly mailRoot?: string;
}

export type CertificateKind = 'rsa2048' | 'ecdsa-p256';

export interface DovecotSession {
  readonly user: string;
  /** Dovecot's reason, e.g. "Logged out" after QUIT. */
  readonly reason: string;
  readonly top: number;
  readonly retr: number;
  readonly retrBytes: number;
  readonly deleted: number;
}

export interface Dovecot {
  readonly host: '127.0.0.1';
  /** Plain POP3 with STLS. */
  readonly pop3Port: number;
  /** Implicit TLS (RFC 8314). */
  readonly pop3sPort: number;
  /** The server's self-signed certificate (PEM): pass it as the CA to verify the server. */
  readonly certificate: string;
  readonly certificatePath: string;
  readonly dir: string;
  readonly pid: number;
  readonly mailRoot: string;
  /** Who must own Maildir files for Dovecot to read them. */
  readonly mailOwner: { readonly uid: number; readonly gid: number };
  /** `dovecot --version`. */
  readonly version: string;
  /** The Maildir of a user (cur/, new/, tmp/). */
  maildir(user: string): string;
  /**
   * Drops a message into the user's new/ as an MDA would (LF line ends, owned by the mail
   * user); `receivedAt` sets the file time, which Dovecot takes as the received date.
   */
  deliver(user: string, message: string | Buffer, options?: { readonly receivedAt?: Date }): Promise<string>;
  /** Delivers through Dovecot's own LDA (dovecot-lda), as Postfix would: Dovecot names the file (with S= and W=). */
  deliverLda(user: string, message: string | Buffer): Promise<void>;
  /** Writes many messages straight into new/ (fast seeding of large mailboxes). */
  deliverMany(user: string, messages: readonly (string | Buffer)[]): Promise<void>;
  /** File names in new/ and cur/ of the user's Maildir. */
  messageFiles(user: string): Promise<string[]>;
  /** The log file so far. */
  log(): Promise<string>;
  /** The sessions Dovecot logged as ended, with their RETR/TOP/DELE counts. */
  sessions(): Promise<DovecotSession[]>;
  /** Waits (bounded) until the log matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(): Promise<void>;
}

/** Why Dovecot tests cannot run here, or undefined when they can. */
export async function dovecotUnavailable(): Promise<string | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'Dovecot tests need root (Dovecot switches to its own users)';
  if (spawnSync(DOVECOT, ['--version'], { stdio: 'ignore' }).status !== 0) return 'dovecot is not installed (Debian package dovecot-pop3d)';
  if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0) return 'openssl is not installed';
  for (const user of ['dovecot', 'dovenull']) {
    if (spawnSync('id', [user], { stdio: 'ignore' }).status !== 0) return `system user ${user} is missing (it comes with dovecot-core)`;
  }
  if (spawnSync('id', [MAIL_USER], { stdio: 'ignore' }).status !== 0) {
    // Dovecot refuses to run mail processes as root; a system user without a home will do.
    const made = spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', MAIL_USER], { stdio: 'ignore' });
    if (made.status !== 0 && spawnSync('id', [MAIL_USER], { stdio: 'ignore' }).status !== 0) return `cannot create the ${MAIL_USER} user`;
  }
  return undefined;
}

export async function startDovecot(options: DovecotOptions = {}): Promise<Dovecot> {
  const reason = await dovecotUnavailable();
  if (reason !== undefined) throw new Error(reason);
  const { uid, gid } = mailOwner();
  const bench = options.bench;
  const dir = bench ? bench.dir : await mkdtemp(join(tmpdir(), 'postel-dovecot-'));
  await mkdir(dir, { recursive: true });
  // Dovecot's unprivileged processes must reach their sockets and the mail below.
  await chmod(dir, 0o755);
  try {
    const certificatePath = join(dir, 'cert.pem');
    await makeCertificate(options.certificate ?? 'ecdsa-p256', certificatePath, join(dir, 'key.pem'));
    const users = options.users ?? { alice: 'secret' };
    const passwd = join(dir, 'passwd');
    const lines = bench ? bench.passwd : Object.entries(users).map(([name, password]) => `${name}:{PLAIN}${password}::::::\n`).join('');
    await writeFile(passwd, lines, { mode: 0o640 });
    // The auth process reads it as Dovecot's internal user.
    await chown(passwd, 0, idsOf('dovecot').gid);
    const mailRoot = options.mailRoot ?? join(dir, 'mail');
    await mkdir(mailRoot, { recursive: true, mode: 0o700 });
    await chown(mailRoot, uid, gid);
    if (!bench) for (const name of Object.keys(users)) await makeMaildir(join(mailRoot, name), uid, gid);

    // Ports are picked free, then bound by Dovecot: another process may take one in
    // between, so a start that fails to bind is retried with new ports.
    for (let attempt = 1; ; attempt++) {
      const [pop3Port, pop3sPort] = [await freePort(), await freePort()];
      await writeFile(join(dir, 'dovecot.conf'), config(dir, mailRoot, pop3Port, pop3sPort, options));
      await rm(join(dir, 'dovecot.log'), { force: true });
      const child = spawn(DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      let gone = false;
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => ((gone = true), resolve(code))));
      // SIGTERM: the master takes its login and mail processes down with it.
      const killAtExit = onProcessEnd(() => child.kill('SIGTERM'));
      void exited.then(killAtExit);
      if (await waitForGreeting(pop3Port, READY_TIMEOUT_MS, () => gone)) {
        return instance({ dir, mailRoot, child, exited, pop3Port, pop3sPort, certificatePath, uid, gid, keepDir: bench !== undefined, stopTimeoutMs: options.stopTimeoutMs ?? 5000 });
      }
      await stopChild(child, exited, 5000);
      const log = await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '');
      if (attempt >= 3 || !/Address already in use/.test(log + stderr)) {
        throw new Error(`dovecot did not start: ${stderr}${log.slice(-2000)}`);
      }
    }
  } catch (err) {
    if (!bench) await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export function mailOwner(): { uid: number; gid: number } {
  return idsOf(MAIL_USER);
}

export function dovecotVersion(): string {
  return spawnSync(DOVECOT, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

interface Started {
  readonly dir: string;
  readonly mailRoot: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly pop3Port: number;
  readonly pop3sPort: number;
  readonly certificatePath: string;
  readonly uid: number;
  readonly gid: number;
  readonly keepDir: boolean;
  readonly stopTimeoutMs: number;
}

function instance(started: Started): Promise<Dovecot> {
  const { dir, mailRoot, child, exited, pop3Port, pop3sPort, certificatePath, uid, gid } = started;
  let counter = 0;
  let stopped = false;
  const logPath = join(dir, 'dovecot.log');
  const maildir = (user: string): string => join(mailRoot, user);
  const writeMessage = async (user: string, message: string | Buffer, receivedAt?: Date): Promise<string> => {
    counter++;
    const seconds = Math.floor(Date.now() / 1000);
    const name = `${seconds}.M${counter}P${process.pid}.postel-test`;
    const path = join(maildir(user), 'new', name);
    await writeFile(path, message, { mode: 0o600 });
    await chown(path, uid, gid);
    if (receivedAt !== undefined) await utimes(path, receivedAt, receivedAt);
    return name;
  };
  const sessions = async (): Promise<DovecotSession[]> => {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    const out: DovecotSession[] = [];
    const re = /pop3\(([^)]+)\)[^\n]*?Disconnected: ([^\n]*?) top=(\d+)\/\d+, retr=(\d+)\/(\d+), del=(\d+)\/\d+/g;
    for (const m of text.matchAll(re)) {
      out.push({ user: m[1] as string, reason: m[2] as string, top: Number(m[3]), retr: Number(m[4]), retrBytes: Number(m[5]), deleted: Number(m[6]) });
    }
    return out;
  };
  return readFile(certificatePath, 'utf8').then((certificate) => ({
    host: '127.0.0.1' as const,
    pop3Port,
    pop3sPort,
    certificate,
    certificatePath,
    dir,
    pid: child.pid as number,
    mailRoot: join(dir, 'mail'),
    mailOwner: { uid, gid },
    version: dovecotVersion(),
    maildir,
    async deliver(user, message, options = {}) {
      return writeMessage(user, message, options.receivedAt);
    },
    async deliverLda(user, message) {
      const lda = spawn('/usr/lib/dovecot/dovecot-lda', ['-c', join(dir, 'dovecot.conf'), '-d', user, '-f', 'sender@example.org'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let stderr = '';
      lda.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve, reject) => {
        lda.once('error', reject);
        lda.once('close', resolve);
        lda.stdin?.end(message);
      });
      if (code !== 0) throw new Error(`dovecot-lda exited with ${code}: ${stderr}`);
    },
    async deliverMany(user, messages) {
      for (const message of messages) await writeMessage(user, message);
    },
    async messageFiles(user) {
      const names: string[] = [];
      for (const sub of ['new', 'cur']) names.push(...(await readdir(join(maildir(user), sub))));
      return names.sort();
    },
    log: () => readFile(logPath, 'utf8').catch(() => ''),
    sessions,
    waitForLog: (pattern, timeoutMs = 5000) =>
      waitFor(async () => pattern.exec(await readFile(logPath, 'utf8').catch(() => '')) ?? undefined, `the dovecot log to match ${pattern}`, timeoutMs),
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(child, exited, started.stopTimeoutMs);
      if (!started.keepDir) await rm(dir, { recursive: true, force: true });
    },
  }));
}

function config(dir: string, mailRoot: string, pop3Port: number, pop3sPort: number, options: DovecotOptions): string {
  const bench = options.bench;
  const mechanisms = options.mechanisms ?? (bench ? ['plain', 'login'] : ['plain', 'login', 'cram-md5', 'scram-sha-256', 'apop']);
  const dh = '/usr/share/dovecot/dh.pem';
  return `# generated by test/support/dovecot.ts
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = postel-${bench ? 'bench' : 'test'}-${pop3Port}
log_path = ${dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
${!bench && spawnSync('test', ['-r', dh]).status === 0 ? `ssl_dh = <${dh}` : ''}
disable_plaintext_auth = no
auth_mechanisms = ${mechanisms.join(' ')}
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = ${MAIL_USER}
mail_gid = ${MAIL_USER}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:${mailRoot}/%u
pop3_uidl_format = %08Xu%08Xv
${bench ? benchLimits(bench.maxSessions) : testSettings}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${MAIL_USER} gid=${MAIL_USER} home=${mailRoot}/%u
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${pop3Port}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${pop3sPort}
    ssl = yes
  }${bench ? `\n  process_limit = ${bench.maxSessions + 200}` : ''}
}
${options.extraConfig ?? ''}
`;
}

const testSettings = `pop3_lock_session = yes
login_trusted_networks =
auth_failure_delay = 0
# Dovecot also delays the next login from an address after a failed one (its auth penalty,
# seconds long, not configurable in 2.3): tests with wrong passwords should come last.`;

/**
 * Dovecot 2.3's defaults, with the limits a run with `sessions` logged-in clients would hit
 * raised: every logged-in POP3 session is a process of service pop3 (client_limit 1), TLS
 * sessions also keep their pop3-login process as a proxy, and anvil and auth get a
 * connection from each login process. login_trusted_networks stays empty: the benchmark
 * logs in over loopback with disable_plaintext_auth = no, so it is not needed.
 */
function benchLimits(sessions: number): string {
  // pop3-login's process_limit is set in its block in config().
  const processes = sessions + 200;
  const clients = sessions + 1000;
  return `default_process_limit = ${processes}
default_client_limit = ${clients}
service pop3 {
  process_limit = ${processes}
}
service anvil {
  client_limit = ${clients + processes}
}
service auth {
  client_limit = ${clients + processes}
}`;
}

async function makeCertificate(kind: CertificateKind, certPath: string, keyPath: string): Promise<void> {
  // An EC key is generated in milliseconds, unlike RSA; the SAN makes 127.0.0.1 verifiable.
  const key = kind === 'rsa2048' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const r = spawnSync(
    'openssl',
    ['req', '-x509', ...key, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr}`);
  await chmod(keyPath, 0o600);
}
async function makeMaildir(path: string, uid: number, gid: number): Promise<void> {
  for (const sub of ['', 'new', 'cur', 'tmp']) {
    await mkdir(join(path, sub), { recursive: true, mode: 0o700 });
    await chown(join(path, sub), uid, gid);
  }
}

function idsOf(user: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no ids for ${user}`);
  return { uid, gid };
}
