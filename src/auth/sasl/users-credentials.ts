import type { Logger } from '../../log/logger.js';
import { FileAuthenticator } from '../file-authenticator.js';
import { plaintextOf } from '../password-schemes.js';
import type { AuthContext } from '../types.js';
import { scramKeysOf, type UserEntry } from '../users-file.js';
import type { Users } from '../users.js';
import { canonicalName } from './names.js';
import type { SaslCredentials, ScramCredentials } from './types.js';

/** SaslCredentials over the users file. */
export class UsersCredentials implements SaslCredentials {
  private readonly authenticator: FileAuthenticator;

  constructor(private readonly users: Users, options: { readonly logger?: Logger } = {}) {
    // FileAuthenticator already gives unknown users the timing of a wrong password.
    this.authenticator = new FileAuthenticator(users, options.logger === undefined ? {} : { logger: options.logger });
  }

  async verifyPassword(user: string, password: string): Promise<string | null> {
    const result = await this.authenticator.verify(user, password, UNUSED_CONTEXT);
    return result.ok ? result.user : null;
  }

  async scram(user: string): Promise<ScramCredentials | null> {
    const entry = await this.entry(user);
    const keys = entry === undefined ? undefined : scramKeysOf(entry);
    return entry === undefined || keys === undefined ? null : { user: entry.name, ...keys };
  }

  async plaintextSecret(user: string): Promise<{ user: string; secret: string } | null> {
    const entry = await this.entry(user);
    const secret = entry === undefined ? null : plaintextOf(entry.password);
    return entry === undefined || secret === null ? null : { user: entry.name, secret };
  }

  async exists(user: string): Promise<string | null> {
    return (await this.entry(user))?.name ?? null;
  }

  private async entry(user: string): Promise<UserEntry | undefined> {
    const name = canonicalName(user);
    return name === undefined ? undefined : this.users.lookup(name);
  }
}

/** FileAuthenticator takes a context for its interface but does not read it. */
const UNUSED_CONTEXT: AuthContext = { remoteAddress: '', secure: true };
