import { startDovecot as start, type CertificateKind } from '../../test/support/dovecot.js';
import type { ServerUnderTest } from './common.js';

/*
 * Dovecot for the benchmark: the tests' launcher (test/support/dovecot.ts) with its bench
 * settings, hashed users from the same passwd-file postel reads, Dovecot's defaults except
 * process and client limits, and the run's directory kept for the report.
 */

export { dovecotUnavailable, mailOwner } from '../../test/support/dovecot.js';

export interface DovecotOptions {
  readonly dir: string;
  /** The passwd-file text (the same lines postel reads). */
  readonly passwd: string;
  /** Sessions the run holds at once (idle_conns). */
  readonly maxSessions: number;
  readonly certificate: CertificateKind;
}

export async function startDovecot(options: DovecotOptions): Promise<ServerUnderTest> {
  const dovecot = await start({
    bench: { dir: options.dir, passwd: options.passwd, maxSessions: options.maxSessions },
    certificate: options.certificate,
    stopTimeoutMs: 60_000,
  });
  return {
    name: 'dovecot',
    pid: dovecot.pid,
    pop3: { host: '127.0.0.1', port: dovecot.pop3Port, tls: false },
    pop3s: { host: '127.0.0.1', port: dovecot.pop3sPort, tls: true, ca: dovecot.certificate },
    smtp: null,
    mailRoot: dovecot.mailRoot,
    mailOwner: dovecot.mailOwner,
    version: dovecot.version,
    notes: [
      'default settings (pop3-login service_count=1, no auth cache) except process and client limits',
      `certificate: ${options.certificate === 'rsa2048' ? 'RSA 2048' : 'ECDSA P-256'}`,
    ],
    stop: () => dovecot.stop(),
  };
}
