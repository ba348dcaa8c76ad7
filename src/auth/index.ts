export type { AuthContext, AuthFailureReason, AuthResult, Authenticator } from './types.js';
export { InvalidUserNameError, normalizeUserName } from './user-name.js';
export {
  hashPassword,
  isPlaintextEquivalent,
  isSupportedScheme,
  plaintextOf,
  schemeOf,
  verifyPassword,
  type HashScheme,
} from './password-schemes.js';
export { DEFAULT_SCRYPT_COST, type ScryptCost } from './scrypt-hash.js';
export { UnknownUserError, UnstorablePasswordError, UserExistsError, UsersFileLockError } from './errors.js';
export { UsersFile, type PasswordOptions, type UserEntry } from './users-file.js';
export type { UsersFileLockOptions } from './users-file.js';
export { FileAuthenticator, type FileAuthenticatorOptions } from './file-authenticator.js';
export {
  AuthPolicy,
  LoginAttempt,
  addressKey,
  type AuthEvent,
  type AuthPolicyDeps,
  type AuthPolicySettings,
  type FailedLogin,
  RECENT_FAILURES,
  type LoginContext,
  type LoginOutcome,
  type LoginVerdict,
} from './policy.js';
