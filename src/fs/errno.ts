/** The `code` of a Node system error (ENOENT, EEXIST, ...), if it has one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** Whether `err` is a system error with one of `codes`. */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = errnoCode(err);
  return code !== undefined && codes.includes(code);
}

/** The file system is full, or the user's quota is: freeing space fixes it. */
export function isNoSpace(err: unknown): boolean {
  return isErrno(err, 'ENOSPC', 'EDQUOT');
}

/**
 * Faults that go away without anyone changing the request: space freed, a device back,
 * descriptors released, a remount. A sender or client should try again later.
 */
const TEMPORARY = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EAGAIN',
  'EWOULDBLOCK',
  'EBUSY',
  'EINTR',
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'ENOLCK',
  'ESTALE',
  'ETIMEDOUT',
  'EROFS',
]);

/**
 * Temporary or permanent. Everything else a file system says (EACCES, ENOENT, ENOTDIR,
 * ELOOP, EFBIG...) will say it again on the next try until a person changes something.
 * Errors without an errno are not file-system faults and count as permanent here; callers
 * that must not bounce mail (intake, `deliver`) still defer on them by their own rule.
 */
export type FsErrorClass = 'temporary' | 'permanent';

export function classifyFsError(err: unknown): FsErrorClass {
  const code = errnoCode(err);
  return code !== undefined && TEMPORARY.has(code) ? 'temporary' : 'permanent';
}

export function isTemporaryFsError(err: unknown): boolean {
  return classifyFsError(err) === 'temporary';
}
