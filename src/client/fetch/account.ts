import { createHash } from 'node:crypto';
import type { TlsMode, TlsSettings } from '../connect.js';
import type { DestinationSpec } from '../deliver/index.js';
import type { SaslMechanismName } from '../sasl/index.js';
import type { FetchPolicy } from './plan.js';

/** How to log in: 'auto' picks SCRAM-SHA-256 when offered, else USER/PASS (or PLAIN, LOGIN). */
export type AuthMethod = 'auto' | 'user' | 'apop' | SaslMechanismName;

/** One POP3 account to fetch, fully resolved (from a config file or the command line). */
export interface AccountSettings {
  /** Names the state file and appears in progress lines; e.g. "alice@mail.example.org". */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMode;
  /** With 'starttls': continue without encryption if the server has no STLS. */
  readonly allowPlaintext: boolean;
  readonly tlsOptions: TlsSettings;
  readonly timeoutMs: number;
  readonly user: string;
  readonly auth: AuthMethod;
  /** The password (or OAuth token), asked for at each connection: never stored by us. */
  readonly secret: () => Promise<string>;
  readonly policy: FetchPolicy;
  readonly destination: DestinationSpec;
}

/**
 * The file name (without extension) for an account's state: readable, safe on every file
 * system, and distinct for distinct accounts (a hash is added when characters had to be
 * replaced, so "a/b" and "a_b" do not collide).
 */
export function stateFileName(account: string): string {
  const safe = account.replace(/[^A-Za-z0-9._@+-]/g, '_').replace(/^\.+/, '_').slice(0, 100);
  if (safe === account) return safe;
  return `${safe}-${createHash('sha256').update(account).digest('hex').slice(0, 8)}`;
}
