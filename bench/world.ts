import { join } from 'node:path';
import { passwdLine, populateMaildir, randomPassword, writeCorpus, type BenchUser, type CorpusMessage, type Scheme } from './fixtures.js';
import type { Settings } from './settings.js';

/** The parts of a run's world a scenario uses; a run makes only those its scenarios use. */
export type WorldPart = 'churn' | 'bulk' | 'big' | 'large' | 'idle' | 'smtp';

export const ALL_PARTS: readonly WorldPart[] = ['churn', 'bulk', 'big', 'large', 'idle', 'smtp'];

/**
 * Every user of a run, by the scenario that uses them. A part the run did not make (--only)
 * throws when read, so a scenario that forgot to declare it fails at once, not with an
 * empty maildrop.
 */
export interface World {
  readonly churn: Readonly<Record<Scheme, readonly BenchUser[]>>;
  readonly bulk: readonly BenchUser[];
  readonly big: BenchUser;
  readonly large: BenchUser;
  readonly idle: readonly BenchUser[];
  /** The user whose sessions are timed while the idle ones are held. */
  readonly probe: BenchUser;
  /** SMTP recipients (empty maildrops). */
  readonly smtp: readonly BenchUser[];
  readonly all: readonly BenchUser[];
}

/**
 * Writes the message corpus under `dir` (owned by `owner`, so Dovecot's mail user can read
 * the hard links) and plans the users of the parts asked for. Nothing is given to a server
 * yet. Each corpus is written as in a full world whatever parts are asked for (the same
 * sizes and text); only corpora no asked-for part uses are left out.
 */
export function buildWorld(dir: string, settings: Settings, owner: { uid: number; gid: number } | null, progress: (msg: string) => void, parts: readonly WorldPart[] = ALL_PARTS): World {
  progress(`writing the message corpus (${parts.join(', ')})`);
  const has = (part: WorldPart): boolean => parts.includes(part);
  const corpus = (name: string, count: number, size: number): CorpusMessage[] => writeCorpus(join(dir, name), name, count, size, owner);
  const small = has('churn') || has('idle') ? corpus('small', settings.churnMessages, settings.smallMessageSize) : [];
  const bulk = has('bulk') ? corpus('bulk', settings.bulkMessages, settings.bulkMessageSize) : [];
  const big = has('big') ? corpus('big', settings.bigMessages, settings.bigMessageSize) : [];
  const large = has('large') ? corpus('large', 1, settings.largeMessageSize) : [];
  const one = small.slice(0, 1);

  const users = (prefix: string, count: number, scheme: Scheme, messages: readonly CorpusMessage[]): BenchUser[] =>
    Array.from({ length: count }, (_, i) => ({ user: `${prefix}${String(i + 1).padStart(count >= 1000 ? 5 : 2, '0')}`, password: randomPassword(), scheme, messages }));

  const churn = has('churn')
    ? {
        PLAIN: users('plain', settings.churnClients, 'PLAIN', small),
        'SHA512-CRYPT': users('crypt', settings.churnClients, 'SHA512-CRYPT', small),
        SCRYPT: users('scrypt', settings.churnClients, 'SCRYPT', small),
      }
    : null;
  const bulkUsers = has('bulk') ? users('bulk', settings.bulkClients, 'PLAIN', bulk) : null;
  const bigUser = has('big') ? (users('big', 1, 'PLAIN', big)[0] as BenchUser) : null;
  const largeUser = has('large') ? (users('large', 1, 'PLAIN', large)[0] as BenchUser) : null;
  const idle = has('idle') ? users('idle', settings.idleSessions, 'PLAIN', one) : null;
  const probe = has('idle') ? (users('probe', 1, 'PLAIN', one)[0] as BenchUser) : null;
  const smtp = has('smtp') ? users('smtp', settings.smtpSenders, 'PLAIN', []) : null;
  const all = [
    ...(churn ? [...churn.PLAIN, ...churn['SHA512-CRYPT'], ...churn.SCRYPT] : []),
    ...(bulkUsers ?? []),
    ...(bigUser ? [bigUser] : []),
    ...(largeUser ? [largeUser] : []),
    ...(idle ?? []),
    ...(probe ? [probe] : []),
    ...(smtp ?? []),
  ];
  return {
    get churn() {
      return churn ?? notMade('churn');
    },
    get bulk() {
      return bulkUsers ?? notMade('bulk');
    },
    get big() {
      return bigUser ?? notMade('big');
    },
    get large() {
      return largeUser ?? notMade('large');
    },
    get idle() {
      return idle ?? notMade('idle');
    },
    get probe() {
      return probe ?? notMade('idle');
    },
    get smtp() {
      return smtp ?? notMade('smtp');
    },
    all,
  };
}

function notMade(part: WorldPart): never {
  throw new Error(`the bench world has no ${part} users: the scenario must list '${part}' in its uses`);
}

/** The passwd-file both servers read; hashing the strong schemes takes a moment. */
export async function passwdText(world: World): Promise<string> {
  const lines = await Promise.all(world.all.map(passwdLine));
  return lines.join('\n') + '\n';
}

/** Gives every user a Maildir under `mailRoot`, with hard links to the corpus. */
export function populate(world: World, mailRoot: string, owner: { uid: number; gid: number } | null): void {
  for (const user of world.all) populateMaildir(mailRoot, user, owner);
}
