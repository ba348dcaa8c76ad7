/**
 * postel's POP3 client library: the connection (Pop3Client), the fetcher that runs a
 * whole account exactly once per message (fetchAccount), its policies, destinations,
 * state and configuration.
 */
export { Pop3Client, type Pop3ClientOptions, type ListEntry, type UidlEntry, type ClientState } from './client.js';
export type { TlsMode, TlsSettings } from './connect.js';
export type { Capabilities } from './capabilities.js';
export {
  Pop3ClientError,
  Pop3ServerError,
  Pop3AuthError,
  Pop3InUseError,
  Pop3LoginDelayError,
  Pop3ProtocolError,
  Pop3ConnectionError,
  Pop3TimeoutError,
  Pop3TlsError,
  Pop3CapabilityError,
  Pop3SaslError,
  Pop3StateError,
  type KnownResponseCode,
} from './errors.js';
export { SASL_MECHANISMS, createMechanism, type SaslMechanism, type SaslMechanismName, type SaslCredentials } from './sasl/index.js';
export {
  createDestination,
  DeliveryError,
  MaildirDestination,
  MboxDestination,
  MdaDestination,
  ForwardDestination,
  type Destination,
  type DestinationSpec,
  type Delivery,
  type MessageMeta,
  type RecoveryToken,
  type RecoveryOutcome,
  type ForwardOptions,
} from './deliver/index.js';
export { fetchAccount, type FetchOptions } from './fetch/fetch-account.js';
export { accountFailed, type AccountResult, type FetchEvent } from './fetch/events.js';
export { stateFileName, type AccountSettings, type AuthMethod } from './fetch/account.js';
export { planFetch, type FetchPolicy, type Plan, type ServerMessage, type FetchItem } from './fetch/plan.js';
export { AccountState, type UidRecord } from './fetch/state.js';
export { AccountBusyError, StateFileError, PolicyError } from './fetch/errors.js';
export { loadFetchConfig, parseFetchConfig, FetchConfigError, type FetchConfig } from './fetch/config.js';
export { CredentialsError, secretFrom, type SecretSource } from './fetch/credentials.js';
export { parseServerUrl, parseDestination, parseDuration, SpecError } from './fetch/specs.js';
export { nextPoll, type NextPoll } from './fetch/schedule.js';
export { runDaemon, type DaemonOptions } from './fetch/daemon.js';
