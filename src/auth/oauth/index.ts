export type { OAuthResult, OAuthValidator } from './types.js';
export { DEFAULT_LEEWAY_SECONDS, DEFAULT_USER_CLAIMS, JwtValidator, type JwtValidatorOptions } from './jwt-validator.js';
export { FileKeySource, OAuthKeyError, parseKeys, staticKeySource, type KeySource, type VerificationKey } from './keys.js';
export { SUPPORTED_ALGORITHMS } from './jwt-validator.js';
