export type {
  SaslContext,
  SaslCredentials,
  SaslExchange,
  SaslMechanism,
  SaslStep,
  SaslTlsContext,
  ScramCredentials,
  ScramKeys,
} from './types.js';
export {
  advertisedMechanisms,
  createMechanisms,
  MECHANISM_NAMES,
  MechanismConfigError,
  selectMechanism,
  type MechanismDeps,
  type MechanismName,
  type MechanismSelection,
} from './mechanisms.js';
export { UsersCredentials } from './users-credentials.js';
export { DEFAULT_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS, MAX_SCRAM_ITERATIONS } from './scram-keys.js';
export { CHANNEL_BINDING_TYPES } from './scram.js';
export { saslprep, SaslprepError } from './saslprep.js';
export { saslTlsContext, tlsExporter, tlsServerEndPoint } from './channel-binding.js';
