import type { UserEntry } from '../auth/users-file.js';

/*
 * Per-user quotas come from the users file's extra fields (the 8th field of a Dovecot
 * passwd-file line, space-separated key=value pairs), so a Dovecot file keeps working:
 *
 *   alice:{SCRYPT}...:::::: userdb_quota_rule=*:storage=100M
 *   bob:{SCRYPT}...:::::: quota=52428800
 *
 * `quota_rule` / `userdb_quota_rule` take Dovecot's `*:storage=N` (kilobytes unless a unit
 * b, k, M, G or T follows) or `*:bytes=N`; `quota` / `userdb_quota` take bytes (units
 * allowed). 0 means no limit. The limit is checked against
 * MailStore.usage (stored octets) by the store itself, at delivery.
 */

const UNITS: Readonly<Record<string, number>> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** The user's storage limit in bytes, or null for none (no field, 0, or a field we cannot read). */
export function quotaLimit(entry: UserEntry): number | null {
  // extra = uid, gid, gecos, home, shell, then the extra fields, which may contain ':'
  // themselves ("*:storage=1G") and were therefore split by the passwd-file parser.
  const fields = entry.extra.slice(5).join(':').split(/\s+/);
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) continue;
    const key = field.slice(0, eq).toLowerCase().replace(/^userdb_/, '');
    const value = field.slice(eq + 1);
    let limit: number | null | undefined;
    if (key === 'quota') limit = parseSize(value, 1);
    else if (key === 'quota_rule') limit = parseRule(value);
    if (limit !== undefined) return limit === 0 ? null : limit;
  }
  return null;
}

/** `*:storage=100M` or `*:bytes=1000`; undefined for rules that set no storage limit. */
function parseRule(rule: string): number | null | undefined {
  const m = /^\*:(storage|bytes)=(.+)$/i.exec(rule);
  if (m === null) return undefined;
  return parseSize(m[2] ?? '', m[1]?.toLowerCase() === 'storage' ? 1024 : 1);
}

function parseSize(text: string, defaultUnit: number): number | null {
  const m = /^(\d{1,15})([bkmgt]?)b?$/i.exec(text.trim());
  if (m === null) return null;
  const unit = m[2] ? (UNITS[m[2].toLowerCase()] ?? 1) : defaultUnit;
  return Number(m[1]) * unit;
}
