import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { isErrno } from '../fs/errno.js';

/*
 * The aliases file, in the style of Postfix virtual(5):
 *
 *   # comment
 *   info@example.org      alice, bob@example.org      several targets: commas and/or spaces
 *   @example.org          alice                       catch-all for the domain
 *   postmaster            demo                        bare name: at every configured local domain
 *   sales@example.org     carol@elsewhere.example     a remote target (needs a smarthost)
 *
 * A line that starts with white space continues the previous one. Keys compare without
 * case. A target without '@' is a user name from the users file; one with '@' is resolved
 * again (alias, user or remote address).
 */

export interface AliasTable {
  /** Lower-cased key (`local@domain`, `@domain` or a bare `local`) -> targets in file order. */
  readonly entries: ReadonlyMap<string, readonly string[]>;
  /** Domains named by keys: mail to them is local even if not in local_domains. */
  readonly domains: ReadonlySet<string>;
}

/** Where the resolver reads aliases: the aliases file, or a table with a PostgreSQL store. */
export interface AliasSource {
  /** The table as it is now (cheap when unchanged: a stat or one small query). */
  current(): Promise<AliasTable>;
  close?(): Promise<void>;
}

export interface AliasProblem {
  readonly line: number;
  readonly problem: string;
}

export function parseAliases(text: string): { table: AliasTable; problems: AliasProblem[] } {
  const entries = new Map<string, string[]>();
  const problems: AliasProblem[] = [];
  const logical: { line: number; text: string }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const body = stripComment(raw);
    if (body.trim() === '') return;
    const last = logical[logical.length - 1];
    if (/^\s/.test(body) && last !== undefined) last.text += ` ${body.trim()}`;
    else logical.push({ line: i + 1, text: body.trim() });
  });
  for (const { line, text: entry } of logical) {
    const [key = '', ...rest] = entry.split(/\s+/);
    const targets = rest
      .join(' ')
      .split(/[\s,]+/)
      .filter((t) => t !== '');
    if (targets.length === 0) {
      problems.push({ line, problem: 'no target' });
      continue;
    }
    if (!isAliasKey(key)) {
      problems.push({ line, problem: 'malformed key' });
      continue;
    }
    const normalized = key.toLowerCase();
    if (entries.has(normalized)) {
      problems.push({ line, problem: 'duplicate key; the first one wins' });
      continue;
    }
    entries.set(normalized, targets);
  }
  return { table: aliasTable(entries), problems };
}

/** A table from lower-cased keys and their targets; the domains follow from the keys. */
export function aliasTable(entries: ReadonlyMap<string, readonly string[]>): AliasTable {
  const domains = new Set<string>();
  for (const key of entries.keys()) {
    const at = key.indexOf('@');
    if (at >= 0) domains.add(key.slice(at + 1));
  }
  return { entries, domains };
}

/** `local@domain`, `@domain` or a bare `local`: no white space, control characters or second '@'. */
export function isAliasKey(key: string): boolean {
  return key !== '' && !/[\s\x00-\x1f\x7f]/.test(key) && key.split('@').length <= 2 && key !== '@';
}

/** A target: a user name or an address, without the separators of the file format. */
export function isAliasTarget(target: string): boolean {
  return target !== '' && !/[\s\x00-\x1f\x7f,#]/.test(target);
}

/** The table in the file's format, one line per key, sorted: `postel alias list` prints this. */
export function formatAliases(table: AliasTable): string {
  return [...table.entries.keys()]
    .sort()
    .map((key) => `${key} ${(table.entries.get(key) ?? []).join(', ')}\n`)
    .join('');
}

/** '#' starts a comment at the start of a line or after white space, as in Postfix tables. */
function stripComment(line: string): string {
  const m = /(^|\s)#/.exec(line);
  return m === null ? line : line.slice(0, m.index);
}

const EMPTY: AliasTable = { entries: new Map(), domains: new Set() };
/** Timestamps advance in ticks: a file changed this recently is read again next time. */
const RACY_WINDOW_MS = 2000;

/**
 * The aliases file, re-read when it changes: every lookup costs one stat, so an edit applies
 * to the next RCPT without a restart or a signal. A missing file is an empty table; a file
 * that cannot be read keeps the last good table (and says so in the log).
 */
export class AliasesFile implements AliasSource {
  private version = '';
  private table: AliasTable = EMPTY;
  private racy = false;

  constructor(
    readonly path: string,
    private readonly logger?: Logger,
  ) {}

  async current(): Promise<AliasTable> {
    let version: string;
    try {
      const info = await stat(this.path, { bigint: true });
      version = `${info.dev}:${info.ino}:${info.size}:${info.mtimeNs}:${info.ctimeNs}`;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        this.version = 'missing';
        this.table = EMPTY;
        return this.table;
      }
      this.logger?.error({ err, path: this.path }, 'cannot stat the aliases file; keeping the last one read');
      return this.table;
    }
    if (version === this.version && !this.racy) return this.table;
    try {
      const text = await readFile(this.path, 'utf8');
      const { table, problems } = parseAliases(text);
      for (const p of problems) this.logger?.warn({ path: this.path, line: p.line, problem: p.problem }, 'aliases file: line ignored');
      this.table = table;
      this.version = version;
      const mtimeMs = Number(version.split(':')[3]) / 1e6;
      this.racy = Date.now() - mtimeMs < RACY_WINDOW_MS;
      if (!this.racy) this.logger?.info({ event: 'aliases_loaded', path: this.path, entries: table.entries.size }, 'aliases loaded');
    } catch (err) {
      this.logger?.error({ err, path: this.path }, 'cannot read the aliases file; keeping the last one read');
    }
    return this.table;
  }
}
