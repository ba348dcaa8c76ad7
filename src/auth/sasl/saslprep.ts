import { saslprep as prepare } from '@mongodb-js/saslprep';

/*
 * SASLprep (RFC 4013), the stringprep (RFC 3454) profile SCRAM applies to user names and
 * passwords, so that a password typed as "é" in NFC on one client and NFD on another gives
 * the same keys. The tables (RFC 3454's, pinned to Unicode 3.2, bidi classes included) are
 * @mongodb-js/saslprep's; the POP3 server and the POP3 client both prepare through here, so
 * the keys they derive from one password always agree.
 */

export class SaslprepError extends Error {
  override readonly name = 'SaslprepError';
  constructor(readonly problem: string) {
    super(`SASLprep: ${problem}`);
  }
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Stored strings (passwords when keys are derived) may not hold unassigned code points; queries may. */
export type SaslprepKind = 'stored' | 'query';

/** The prepared string; throws SaslprepError for prohibited characters or bad bidi. */
export function saslprep(input: string, kind: SaslprepKind = 'query'): string {
  // Printable ASCII is its own SASLprep form (the mappings, normalization and prohibitions
  // touch only other characters), and it is what almost every login sends.
  if (PRINTABLE_ASCII.test(input)) return input;
  try {
    return prepare(input, { allowUnassigned: kind === 'query' });
  } catch (error) {
    // The package throws plain Errors whose text ends with a link to the RFC section.
    if (error instanceof Error) throw new SaslprepError(error.message.replace(/, see \S+$/, ''));
    throw error;
  }
}

/**
 * SASLprep for deriving keys from a password, falling back to the password as typed when
 * it cannot be prepared. Clients differ here; PostgreSQL and most SCRAM libraries fall back
 * like this, so a password with, say, a control character still works with them.
 */
export function saslprepPassword(password: string): string {
  try {
    const prepared = saslprep(password, 'stored');
    return prepared === '' ? password : prepared;
  } catch (error) {
    if (error instanceof SaslprepError) return password;
    throw error;
  }
}
