/** `add` of a name that already has a line in the users file. */
export class UserExistsError extends Error {
  override readonly name = 'UserExistsError';
  constructor(readonly user: string) {
    super(`user ${user} already exists`);
  }
}

/** `setPassword` or `remove` of a name that has no line in the users file. */
export class UnknownUserError extends Error {
  override readonly name = 'UnknownUserError';
  constructor(readonly user: string) {
    super(`no such user: ${user}`);
  }
}

/**
 * A stored secret that the passwd-file line format cannot hold: a {PLAIN} password with
 * ':' would split into fields, one with a line break into lines.
 */
export class UnstorablePasswordError extends Error {
  override readonly name = 'UnstorablePasswordError';
  constructor(readonly user: string) {
    super(`the password of ${user} cannot be stored in this scheme (contains ':' or a control character)`);
  }
}

/** Another process held the users file lock for longer than we were willing to wait. */
export class UsersFileLockError extends Error {
  override readonly name = 'UsersFileLockError';
  constructor(readonly lockPath: string, options?: { cause?: unknown }) {
    super(`could not lock ${lockPath}: held by another process`, options);
  }
}
