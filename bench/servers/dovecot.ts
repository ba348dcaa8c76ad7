import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForGreeting, type ServerUnderTest } from './common.js';

/*
 * Dovecot (Debian's dovecot-pop3d) with a configuration of its own in a temporary
 * directory: its own base_dir, state_dir and log, a passwd-file, Maildirs under our root,
 * loopback ports. Nothing of /etc/dovecot is read.
 *
 * test/support/dovecot.ts (the interop tests' harness) stores every user as {PLAIN}, makes
 * its own Maildirs and keeps Dovecot's default process limits; the benchmark needs hashed
 * users, shared message files and limits raised for thousands of sessions, hence this file.
 */

const DOVECOT = '/usr/sbin/dovecot';
/** Dovecot refuses to run mail processes as root. */
const MAIL_USER = 'vmail';
const STOP_TIMEOUT_MS = 60_000;

export type CertificateKind = 'rsa2048' | 'ecdsa-p256';

export interface DovecotOptions {
  readonly dir: string;
  /** The passwd-file text (the same lines postel reads). */
  readonly passwd: string;
  /** Sessions the run holds at once (idle_conns). */
  readonly maxSessions: number;
  readonly certificate: CertificateKind;
}

/** Why Dovecot cannot run here, or undefined. Creates the mail user when it is missing. */
export function dovecotUnavailable(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'Dovecot needs root (it switches to its own users)';
  if (spawnSync(DOVECOT, ['--version'], { stdio: 'ignore' }).status !== 0) return 'dovecot is not installed (apt-get install dovecot-pop3d)';
  if (spawnSync('openssl', ['version'], { stdio: 'ignore' }).status !== 0) return 'openssl is not installed';
  for (const user of ['dovecot', 'dovenull']) {
    if (spawnSync('id', [user], { stdio: 'ignore' }).status !== 0) return `system user ${user} is missing (it comes with dovecot-core)`;
  }
  if (spawnSync('id', [MAIL_USER], { stdio: 'ignore' }).status !== 0) {
    spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', MAIL_USER], { stdio: 'ignore' });
    if (spawnSync('id', [MAIL_USER], { stdio: 'ignore' }).status !== 0) return `cannot create the ${MAIL_USER} user`;
  }
  return undefined;
}

export function mailOwner(): { uid: number; gid: number } {
  return idsOf(MAIL_USER);
}

export function dovecotVersion(): string {
  return spawnSync(DOVECOT, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

export async function startDovecot(options: DovecotOptions): Promise<ServerUnderTest> {
  const dir = options.dir;
  const owner = mailOwner();
  mkdirSync(dir, { recursive: true });
  // Dovecot's unprivileged processes must reach their sockets and the mail below.
  chmodSync(dir, 0o755);
  const mailRoot = join(dir, 'mail');
  mkdirSync(mailRoot, { recursive: true });
  chownSync(mailRoot, owner.uid, owner.gid);
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  makeCertificate(options.certificate, certPath, keyPath);
  const passwdPath = join(dir, 'passwd');
  writeFileSync(passwdPath, options.passwd, { mode: 0o640 });
  // Read by the auth process as Dovecot's internal user.
  chownSync(passwdPath, 0, idsOf('dovecot').gid);

  for (let attempt = 1; ; attempt++) {
    const [pop3Port, pop3sPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'dovecot.conf'), config(dir, pop3Port, pop3sPort, options.maxSessions));
    const child = spawn(DOVECOT, ['-F', '-c', join(dir, 'dovecot.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    let gone = false;
    const exited = new Promise<void>((r) => child.once('exit', () => ((gone = true), r())));
    if (await waitForGreeting(pop3Port, 10_000, () => gone)) {
      const ca = readFileSync(certPath, 'utf8');
      return {
        name: 'dovecot',
        pid: child.pid as number,
        pop3: { host: '127.0.0.1', port: pop3Port, tls: false },
        pop3s: { host: '127.0.0.1', port: pop3sPort, tls: true, ca },
        smtp: null,
        mailRoot,
        mailOwner: owner,
        version: dovecotVersion(),
        notes: [
          'default settings (pop3-login service_count=1, no auth cache) except process and client limits',
          `certificate: ${options.certificate === 'rsa2048' ? 'RSA 2048' : 'ECDSA P-256'}`,
        ],
        async stop() {
          if (gone) return;
          child.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), STOP_TIMEOUT_MS)))]);
          clearTimeout(timer);
          if (timedOut) {
            child.kill('SIGKILL');
            await exited;
          }
        },
      };
    }
    if (!gone) child.kill('SIGKILL');
    await exited;
    const log = existsSync(join(dir, 'dovecot.log')) ? readFileSync(join(dir, 'dovecot.log'), 'utf8') : '';
    if (attempt >= 3 || !/Address already in use/.test(log + stderr)) throw new Error(`dovecot did not start: ${stderr}${log.slice(-2000)}`);
  }
}

/**
 * Dovecot 2.3's defaults, with the limits a run with `sessions` logged-in clients would hit
 * raised: every logged-in POP3 session is a process of service pop3 (client_limit 1), TLS
 * sessions also keep their pop3-login process as a proxy, and anvil and auth get a
 * connection from each login process. login_trusted_networks stays empty: the benchmark
 * logs in over loopback with disable_plaintext_auth = no, so it is not needed.
 */
function config(dir: string, pop3Port: number, pop3sPort: number, sessions: number): string {
  const processes = sessions + 200;
  const clients = sessions + 1000;
  return `# generated by bench/servers/dovecot.ts
base_dir = ${dir}/run
state_dir = ${dir}/state
instance_name = postel-bench-${pop3Port}
log_path = ${dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <${dir}/cert.pem
ssl_key = <${dir}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
mail_uid = ${MAIL_USER}
mail_gid = ${MAIL_USER}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:${dir}/mail/%u
pop3_uidl_format = %08Xu%08Xv
default_process_limit = ${processes}
default_client_limit = ${clients}
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
  process_limit = ${processes}
}
service pop3 {
  process_limit = ${processes}
}
service anvil {
  client_limit = ${clients + processes}
}
service auth {
  client_limit = ${clients + processes}
}
`;
}

function makeCertificate(kind: CertificateKind, certPath: string, keyPath: string): void {
  const key = kind === 'rsa2048' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  const r = spawnSync(
    'openssl',
    ['req', '-x509', ...key, '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a certificate: ${r.stderr}`);
  chmodSync(keyPath, 0o600);
}

function idsOf(user: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no ids for ${user}`);
  return { uid, gid };
}
