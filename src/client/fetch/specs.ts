import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { TlsMode } from '../connect.js';
import type { DestinationSpec } from '../deliver/index.js';

/** A server, destination or option written wrongly; the message says what is expected. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
}

export interface ServerSpec {
  readonly tls: TlsMode;
  readonly host: string;
  readonly port: number;
  readonly user?: string;
}

/**
 * `pop3s://user@host[:port]` (implicit TLS, port 995, RFC 8314) or `pop3://user@host[:port]`
 * (port 110, upgraded with STLS). A password in the URL is refused: it would show in `ps`
 * and shell history.
 */
export function parseServerUrl(text: string): ServerSpec {
  const m = /^(pop3s?):\/\/(?:([^@/?#]*)@)?(\[[0-9A-Fa-f:.]+\]|[^:/?#@[\]]+)(?::([0-9]{1,5}))?\/?$/.exec(text.trim());
  if (!m) throw new SpecError(`invalid server ${JSON.stringify(text)}: expected pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]`);
  const scheme = m[1] as string;
  const userinfo = m[2];
  const rawHost = m[3] as string;
  const rawPort = m[4];
  if (userinfo?.includes(':')) throw new SpecError('put the password in --password-env or --password-command, not in the server URL');
  const port = rawPort === undefined ? (scheme === 'pop3s' ? 995 : 110) : Number(rawPort);
  if (port < 1 || port > 65535) throw new SpecError(`invalid port in ${text}`);
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  let user: string | undefined;
  try {
    user = userinfo === undefined || userinfo === '' ? undefined : decodeURIComponent(userinfo);
  } catch {
    throw new SpecError(`invalid percent-encoding in the user of ${text}`);
  }
  return { tls: scheme === 'pop3s' ? 'tls' : 'starttls', host, port, ...(user !== undefined ? { user } : {}) };
}

/**
 * `maildir:PATH`, `mbox:FILE`, `mda:COMMAND`, `lmtp:HOST:PORT`, `smtp:HOST:PORT`. Paths may
 * start with ~/ and are taken relative to `base`. SMTP and LMTP need a recipient.
 */
export function parseDestination(text: string, base: string, recipient: string | undefined): DestinationSpec {
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon).toLowerCase();
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (kind) {
    case 'maildir':
    case 'mbox':
      if (rest.trim() === '') throw new SpecError(`${kind}: needs a path, e.g. ${kind}:~/${kind === 'maildir' ? 'Maildir' : 'mbox'}`);
      return { kind, path: expandPath(rest, base) };
    case 'mda':
      if (rest.trim() === '') throw new SpecError("mda: needs a command, e.g. mda:'procmail -d alice'");
      return { kind, command: rest };
    case 'lmtp':
    case 'smtp': {
      const m = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):([0-9]{1,5})$/.exec(rest);
      const port = Number(m?.[2]);
      if (!m || port < 1 || port > 65535) throw new SpecError(`${kind}: needs HOST:PORT, e.g. ${kind}:127.0.0.1:${kind === 'lmtp' ? 24 : 25}`);
      if (recipient === undefined || recipient === '') throw new SpecError(`${kind}: needs a recipient address (recipient = "..." or --recipient)`);
      const host = (m[1] as string).startsWith('[') ? (m[1] as string).slice(1, -1) : (m[1] as string);
      return { kind, host, port, recipient };
    }
    default:
      throw new SpecError(`invalid destination ${JSON.stringify(text)}: expected maildir:PATH, mbox:FILE, mda:COMMAND, lmtp:HOST:PORT or smtp:HOST:PORT`);
  }
}

export function expandPath(path: string, base: string): string {
  const p = path === '~' ? homedir() : path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
  return isAbsolute(p) ? p : resolve(base, p);
}

/** "300", "90s", "5m", "1h", "250ms" -> milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text);
  if (!m) throw new SpecError(`invalid duration ${JSON.stringify(text)}: use e.g. 30s, 5m, 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h' | 'd'];
  const ms = Math.round(Number(m[1]) * unit);
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new SpecError(`invalid duration ${JSON.stringify(text)}`);
  return ms;
}
