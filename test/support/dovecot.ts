import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * A real Dovecot POP3 server for interoperability tests (Debian package dovecot-pop3d).
 * Each instance has a temporary directory of its own: configuration, base_dir, state_dir,
 * log file, passwd-file, a self-signed certificate and a Maildir root, and listens on
 * free loopback ports for POP3 (110-style, with STLS) and POP3S (implicit TLS). Nothing
 * of the system's Dovecot configuration is read, and nothing is left running or on disk
 * after stop().
 *
 *   const reason = await dovecotUnavailable();
 *   test('...', { skip: reason }, async () => {
 *     const dovecot = await startDovecot({ users: { alice: 'secret' } });
 *     try { await dovecot.deliver('alice', 'Subject: hi\n\nbody\n'); ... } finally { await dovecot.stop(); }
 *   });
 */

const DOVECOT = '/usr/sbin/dovecot';
const MAIL_USER = 'vmail';
const STOP_TIMEOUT_MS = 5000;
const READY_TIMEOUT_MS = 5000;

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
}

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
  /** The Maildir of a user (cur/, new/, tmp/). */
  maildir(user: string): string;
  /**
   * Drops a message into the user's new/ as an MDA would (LF line ends, owned by the mail
   * user); `receivedAt` sets the file time, which Dovecot takes as the received date.
   */
  deliver(user: string, message: string | Buffer, options?: { readonly receivedAt?: Date }): Promise<string>;
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
  const { uid, gid } = idsOf(MAIL_USER);
  const dir = await mkdtemp(join(tmpdir(), 'postel-dovecot-'));
  // Dovecot's unprivileged processes must reach their sockets and the mail below.
  await chmod(dir, 0o755);
  try {
    const certificatePath = join(dir, 'cert.pem');
    await makeCertificate(dir, certificatePath, join(dir, 'key.pem'));
    const users = options.users ?? { alice: 'secret' };
    const passwd = join(dir, 'passwd');
    await writeFile(passwd, Object.entries(users).map(([name, password]) => `${name}:{PLAIN}${password}::::::\n`).join(''), { mode: 0o640 });
    // The auth process reads it as Dovecot's internal user.
    await chown(passwd, 0, idsOf('dovecot').gid);
    const mailRoot = join(dir, 'mail');
    await mkdir(mailRoot, { mode: 0o700 });
    await chown(mailRoot, uid, gid);
    for (const name of Object.keys(users)) await makeMaildir(join(mailRoot, name), uid, gid);

    // Ports are picked free, then bound by Dovecot: another process may take one in
    // between, so a start that fails to bind is retried with new ports.
    for (let attempt = 1; ; attempt++) {
      const [pop3Port, pop3sPort] = [await freePort(), await freePort()];
      await writeFile(join(dir, 'dovecot.conf'), config(dir, pop3Port, pop3sPort, options));
      await rm(join(dir, 'dovecot.log'), { force: true });
      const child = spawn(DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const ready = await waitUntilReady(pop3Port, exited);
      if (ready) return instance(dir, child, exited, pop3Port, pop3sPort, certificatePath, uid, gid);
      await stopChild(child, exited);
      const log = await readFile(join(dir, 'dovecot.log'), 'utf8').catch(() => '');
      if (attempt >= 3 || !/Address already in use/.test(log + stderr)) {
        throw new Error(`dovecot did not start: ${stderr}${log}`);
      }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function instance(dir: string, child: ChildProcess, exited: Promise<number | null>, pop3Port: number, pop3sPort: number, certificatePath: string, uid: number, gid: number): Promise<Dovecot> {
  let counter = 0;
  let stopped = false;
  const logPath = join(dir, 'dovecot.log');
  const maildir = (user: string): string => join(dir, 'mail', user);
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
    maildir,
    async deliver(user, message, options = {}) {
      return writeMessage(user, message, options.receivedAt);
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
    async waitForLog(pattern, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = pattern.exec(await readFile(logPath, 'utf8').catch(() => ''));
        if (m) return m;
        if (Date.now() > deadline) throw new Error(`dovecot log never matched ${pattern}:\n${await readFile(logPath, 'utf8').catch(() => '')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await stopChild(child, exited);
      await rm(dir, { recursive: true, force: true });
    },
  }));
}

function config(dir: string, pop3Port: number, pop3sPort: number, options: DovecotOptions): string {
  const mechanisms = options.mechanisms ?? ['plain', 'login', 'cram-md5', 'scram-sha-256', 'apop'];
  const dh = '/usr/share/dovecot/dh.pem';
  return `# generated by test/support/dovecot.ts
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = postel-test-${pop3Port}
log_path = ${dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
${spawnSync('test', ['-r', dh]).status === 0 ? `ssl_dh = <${dh}` : ''}
disable_plaintext_auth = no
auth_mechanisms = ${mechanisms.join(' ')}
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = ${MAIL_USER}
mail_gid = ${MAIL_USER}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:${dir}/mail/%u
pop3_uidl_format = %08Xu%08Xv
pop3_lock_session = yes
login_trusted_networks =
auth_failure_delay = 0
# Dovecot also delays the next login from an address after a failed one (its auth penalty,
# seconds long, not configurable in 2.3): tests with wrong passwords should come last.
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${MAIL_USER} gid=${MAIL_USER} home=${dir}/mail/%u
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
  }
}
${options.extraConfig ?? ''}
`;
}

async function makeCertificate(dir: string, certPath: string, keyPath: string): Promise<void> {
  // An EC key is generated in milliseconds, unlike RSA; the SAN makes 127.0.0.1 verifiable.
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
    { cwd: dir, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr}`);
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

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** True once the POP3 port answers with a greeting; false if Dovecot exits or time runs out. */
async function waitUntilReady(port: number, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!gone && Date.now() < deadline) {
    if (await greets(port)) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d: Buffer) => done(d.toString('latin1').startsWith('+OK')));
  });
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), STOP_TIMEOUT_MS)))]);
  clearTimeout(timer);
  if (timedOut) {
    child.kill('SIGKILL');
    await exited;
  }
}
