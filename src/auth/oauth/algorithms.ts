import { constants, verify, type KeyObject } from 'node:crypto';

/*
 * The JWS algorithms accepted (RFC 7518 section 3, RFC 8037 for EdDSA): asymmetric only.
 * HS256 and friends are left out on purpose: with a public key configured, accepting them
 * invites the classic attack of signing with the public key as an HMAC secret.
 */

interface Algorithm {
  /** Whether a key can check this algorithm's signatures. */
  fits(key: KeyObject): boolean;
  verify(key: KeyObject, data: Buffer, signature: Buffer): boolean;
}

/** RSA keys below this size are refused (RFC 7518 section 3.3 asks for at least 2048 bits). */
const MIN_RSA_BITS = 2048;

function rsa(hash: string, pss: boolean): Algorithm {
  return {
    fits: (key) => {
      const type = key.asymmetricKeyType;
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
      return (type === 'rsa' || (pss && type === 'rsa-pss')) && bits >= MIN_RSA_BITS;
    },
    verify: (key, data, signature) =>
      verify(hash, data, pss ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST } : key, signature),
  };
}

function ecdsa(hash: string, curve: string, signatureBytes: number): Algorithm {
  return {
    fits: (key) => key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve,
    // JWS signatures are r||s of fixed length, not DER (RFC 7518 section 3.4).
    verify: (key, data, signature) => signature.length === signatureBytes && verify(hash, data, { key, dsaEncoding: 'ieee-p1363' }, signature),
  };
}

const EDDSA: Algorithm = {
  fits: (key) => key.asymmetricKeyType === 'ed25519' || key.asymmetricKeyType === 'ed448',
  verify: (key, data, signature) => verify(null, data, key, signature),
};

export const ALGORITHMS: ReadonlyMap<string, Algorithm> = new Map([
  ['RS256', rsa('sha256', false)],
  ['RS384', rsa('sha384', false)],
  ['RS512', rsa('sha512', false)],
  ['PS256', rsa('sha256', true)],
  ['PS384', rsa('sha384', true)],
  ['PS512', rsa('sha512', true)],
  ['ES256', ecdsa('sha256', 'prime256v1', 64)],
  ['ES384', ecdsa('sha384', 'secp384r1', 96)],
  ['ES512', ecdsa('sha512', 'secp521r1', 132)],
  ['EdDSA', EDDSA],
]);

export const SUPPORTED_ALGORITHMS: readonly string[] = [...ALGORITHMS.keys()];

/** False for a bad signature, and for a key that does not fit the algorithm. */
export function verifySignature(algorithm: string, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const entry = ALGORITHMS.get(algorithm);
  if (entry === undefined || !entry.fits(key)) return false;
  try {
    return entry.verify(key, data, signature);
  } catch {
    // OpenSSL throws for some malformed signatures instead of returning false.
    return false;
  }
}

export function keyFits(algorithm: string, key: KeyObject): boolean {
  return ALGORITHMS.get(algorithm)?.fits(key) ?? false;
}
