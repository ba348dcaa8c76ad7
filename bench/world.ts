import { join } from 'node:path';
import { passwdLine, populateMaildir, randomPassword, writeCorpus, type BenchUser, type CorpusMessage, type Scheme } from './fixtures.js';
import type { Settings } from './settings.js';

/** Every user of a run, by the scenario that uses them. */
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
 * the hard links) and plans the users. Nothing is given to a server yet.
 */
export function buildWorld(dir: string, settings: Settings, owner: { uid: number; gid: number } | null, progress: (msg: string) => void): World {
  progress('writing the message corpus');
  const small = writeCorpus(join(dir, 'small'), 'small', settings.churnMessages, settings.smallMessageSize, owner);
  const bulk = writeCorpus(join(dir, 'bulk'), 'bulk', settings.bulkMessages, settings.bulkMessageSize, owner);
  const big = writeCorpus(join(dir, 'big'), 'big', settings.bigMessages, settings.bigMessageSize, owner);
  const large = writeCorpus(join(dir, 'large'), 'large', 1, settings.largeMessageSize, owner);
  const one = small.slice(0, 1);

  const users = (prefix: string, count: number, scheme: Scheme, messages: readonly CorpusMessage[]): BenchUser[] =>
    Array.from({ length: count }, (_, i) => ({ user: `${prefix}${String(i + 1).padStart(count >= 1000 ? 5 : 2, '0')}`, password: randomPassword(), scheme, messages }));

  const churn = {
    PLAIN: users('plain', settings.churnClients, 'PLAIN', small),
    'SHA512-CRYPT': users('crypt', settings.churnClients, 'SHA512-CRYPT', small),
    SCRYPT: users('scrypt', settings.churnClients, 'SCRYPT', small),
  };
  const world = {
    churn,
    bulk: users('bulk', settings.bulkClients, 'PLAIN', bulk),
    big: users('big', 1, 'PLAIN', big)[0] as BenchUser,
    large: users('large', 1, 'PLAIN', large)[0] as BenchUser,
    idle: users('idle', settings.idleSessions, 'PLAIN', one),
    probe: users('probe', 1, 'PLAIN', one)[0] as BenchUser,
    smtp: users('smtp', settings.smtpSenders, 'PLAIN', []),
  };
  return {
    ...world,
    all: [...churn.PLAIN, ...churn['SHA512-CRYPT'], ...churn.SCRYPT, ...world.bulk, world.big, world.large, ...world.idle, world.probe, ...world.smtp],
  };
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
