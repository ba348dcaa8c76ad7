import type { Endpoint } from '../load/pop3-conn.js';

/** postel-metrics-off: postel with [metrics] enabled = false (bench --metrics-overhead). */
export type ServerName = 'postel' | 'dovecot' | 'postel-metrics-off';

/** A server the benchmark drives, started for this run on loopback ports. */
export interface ServerUnderTest {
  readonly name: ServerName;
  /** Root of the server's process tree: CPU and memory are summed over it. */
  readonly pid: number;
  /** The PostgreSQL postmaster this server stores into (bench --store postgres): its CPU is reported beside. */
  readonly databasePid?: number;
  readonly pop3: Endpoint;
  readonly pop3s: Endpoint;
  /** SMTP intake, when the server has one. */
  readonly smtp: { readonly host: string; readonly port: number } | null;
  /** Where user Maildirs go (ROOT/<user>). */
  readonly mailRoot: string;
  /** Who must own Maildir files for the server to use them (null: as we are). */
  readonly mailOwner: { readonly uid: number; readonly gid: number } | null;
  readonly version: string;
  /** What differs from the defaults, for the report. */
  readonly notes: readonly string[];
  stop(): Promise<void>;
}

export { freePort, waitForGreeting } from '../../test/support/processes.js';
