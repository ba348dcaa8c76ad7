import type { Logger } from 'pino';
import { InvalidUserNameError, normalizeUserName } from '../auth/user-name.js';
import type { UserEntry } from '../auth/users-file.js';
import { splitAddress } from './address.js';
import type { AliasSource, AliasTable } from './aliases.js';

/** What the recipient resolver needs from the users (file or table). */
export interface UserDirectory {
  lookup(name: string): Promise<UserEntry | undefined>;
  hasDomain(domain: string): Promise<boolean>;
}

/** Where mail for one envelope recipient goes. */
export type Route =
  /** Stored here, in these maildrops; `forward` holds remote alias targets. */
  | { readonly kind: 'local'; readonly users: readonly string[]; readonly forward: readonly string[] }
  /** A domain that is not ours: relaying. */
  | { readonly kind: 'remote' }
  /** One of our domains, but nobody by that name. */
  | { readonly kind: 'unknown' };

export interface ResolverOptions {
  readonly hostname: string;
  /** Configured local domains; the hostname is added. */
  readonly localDomains: readonly string[];
  readonly users: UserDirectory;
  readonly aliases: AliasSource;
  readonly logger?: Logger;
  /**
   * `postel dev`: every address at any domain is local, its mailbox named after the whole
   * address and created on first use by this function (which returns the user name, or null
   * for an address that cannot name a mailbox).
   */
  readonly acceptAll?: (address: string) => Promise<string | null>;
}

/** Alias chains longer than this are a loop or a mistake. */
const MAX_DEPTH = 8;

interface Expansion {
  readonly users: Set<string>;
  readonly forward: Set<string>;
}

/**
 * Turns an envelope recipient into maildrops. A domain is local when it is configured, is
 * the hostname, or appears in an address-form user name or an alias key. Within a local
 * domain the order is: the exact alias, the exact user (`alice@example.org`), then, for
 * configured domains, the bare alias and bare user (`alice`), and last the domain's
 * catch-all, so a catch-all never hides a real mailbox.
 */
export class RecipientResolver {
  private readonly configured: ReadonlySet<string>;

  constructor(private readonly options: ResolverOptions) {
    this.configured = new Set([...options.localDomains, options.hostname].map((d) => d.toLowerCase()));
  }

  async resolve(address: string): Promise<Route> {
    let target = splitAddress(address);
    // RFC 5321 4.1.1.3: the domain-less postmaster must be accepted.
    if (target.domain === '') {
      if (target.local.toLowerCase() !== 'postmaster') return { kind: 'unknown' };
      target = { local: 'postmaster', domain: this.options.hostname.toLowerCase() };
    }
    if (this.options.acceptAll) {
      const user = await this.options.acceptAll(`${target.local}@${target.domain}`);
      return user === null ? { kind: 'unknown' } : { kind: 'local', users: [user], forward: [] };
    }
    const aliases = await this.options.aliases.current();
    if (!(await this.isLocalDomain(target.domain, aliases))) return { kind: 'remote' };
    const found: Expansion = { users: new Set(), forward: new Set() };
    await this.expand(`${target.local}@${target.domain}`, aliases, found, 0, new Set());
    if (found.users.size === 0 && found.forward.size === 0) return { kind: 'unknown' };
    return { kind: 'local', users: [...found.users], forward: [...found.forward] };
  }

  /** Whether mail for `domain` is ours (for the relay decision). */
  async isLocalDomain(domain: string, aliases?: AliasTable): Promise<boolean> {
    const d = domain.toLowerCase();
    if (this.configured.has(d)) return true;
    if ((aliases ?? (await this.options.aliases.current())).domains.has(d)) return true;
    return this.options.users.hasDomain(d);
  }

  private async expand(address: string, aliases: AliasTable, out: Expansion, depth: number, seen: Set<string>): Promise<void> {
    if (depth > MAX_DEPTH) {
      this.options.logger?.warn({ address }, 'alias chain too deep; target ignored');
      return;
    }
    const { local, domain } = splitAddress(address);
    const key = `${local}@${domain}`.toLowerCase();
    // An address met again (alice@x -> alice@x, archive) is not expanded again but
    // delivered to its own mailbox, as in Postfix.
    const viaAliases = !seen.has(key);
    seen.add(key);
    const configured = this.configured.has(domain);

    if (viaAliases) {
      const exact = aliases.entries.get(key);
      if (exact) return this.expandTargets(exact, aliases, out, depth, seen);
    }
    const user = (await this.findUser(`${local}@${domain}`)) ?? (configured ? await this.findUser(local) : undefined);
    if (user !== undefined) {
      out.users.add(user);
      return;
    }
    if (viaAliases && configured) {
      const bare = aliases.entries.get(local.toLowerCase());
      if (bare) return this.expandTargets(bare, aliases, out, depth, seen);
    }
    if (viaAliases) {
      const catchAll = aliases.entries.get(`@${domain}`);
      if (catchAll) return this.expandTargets(catchAll, aliases, out, depth, seen);
    }
  }

  private async expandTargets(targets: readonly string[], aliases: AliasTable, out: Expansion, depth: number, seen: Set<string>): Promise<void> {
    for (const target of targets) {
      if (!target.includes('@')) {
        const user = await this.findUser(target);
        if (user !== undefined) out.users.add(user);
        else if (aliases.entries.has(target.toLowerCase())) {
          await this.expandTargets(aliases.entries.get(target.toLowerCase()) ?? [], aliases, out, depth + 1, seen);
        } else this.options.logger?.warn({ target }, 'alias target is not a user; ignored');
        continue;
      }
      const { domain } = splitAddress(target);
      if (await this.isLocalDomain(domain, aliases)) await this.expand(target, aliases, out, depth + 1, seen);
      else out.forward.add(target);
    }
  }

  /** The canonical user name for `name`, trying the local part as written, then lower-cased. */
  private async findUser(name: string): Promise<string | undefined> {
    for (const candidate of new Set([name, lowerLocal(name)])) {
      let canonical: string;
      try {
        canonical = normalizeUserName(candidate);
      } catch (err) {
        if (err instanceof InvalidUserNameError) continue;
        throw err;
      }
      const entry = await this.options.users.lookup(canonical);
      if (entry !== undefined) return entry.name;
    }
    return undefined;
  }
}

function lowerLocal(name: string): string {
  const at = name.lastIndexOf('@');
  return at < 0 ? name.toLowerCase() : `${name.slice(0, at).toLowerCase()}${name.slice(at)}`;
}
