import { deriveScramKeys } from './scram-keys.js';
import type { SaslCredentials, ScramCredentials, ScramKeys } from './types.js';

/** Test users: name -> password, with SCRAM keys for those given a salt. */
export interface MemoryUser {
  readonly password: string;
  /** Whether CRAM-MD5 may see the password (as for a {PLAIN} user). */
  readonly plaintext?: boolean;
  readonly scram?: { readonly salt: Buffer; readonly iterations: number };
}

/** An in-memory SaslCredentials for mechanism tests; records the calls it gets. */
export class MemoryCredentials implements SaslCredentials {
  readonly calls: string[] = [];
  private readonly keys = new Map<string, ScramKeys>();

  private constructor(private readonly users: ReadonlyMap<string, MemoryUser>) {}

  static async create(users: Record<string, MemoryUser>): Promise<MemoryCredentials> {
    const credentials = new MemoryCredentials(new Map(Object.entries(users)));
    for (const [name, user] of Object.entries(users)) {
      if (user.scram !== undefined) credentials.keys.set(name, await deriveScramKeys(user.password, user.scram.salt, user.scram.iterations));
    }
    return credentials;
  }

  async verifyPassword(user: string, password: string): Promise<string | null> {
    this.calls.push(`verifyPassword ${user}`);
    return this.users.get(user)?.password === password ? user : null;
  }

  async scram(user: string): Promise<ScramCredentials | null> {
    this.calls.push(`scram ${user}`);
    const keys = this.keys.get(user);
    return keys === undefined ? null : { user, ...keys };
  }

  async plaintextSecret(user: string): Promise<{ user: string; secret: string } | null> {
    this.calls.push(`plaintextSecret ${user}`);
    const found = this.users.get(user);
    return found?.plaintext === true ? { user, secret: found.password } : null;
  }

  async exists(user: string): Promise<string | null> {
    this.calls.push(`exists ${user}`);
    return this.users.has(user) ? user : null;
  }
}
