import { createPublicKey, X509Certificate, type JsonWebKey, type KeyObject } from 'node:crypto';
import { stat, readFile } from 'node:fs/promises';

/** A public key tokens may be signed with, and what its JWK said about its use. */
export interface VerificationKey {
  readonly key: KeyObject;
  readonly kid?: string;
  /** The JWK's `alg`: when set, the only algorithm the key may be used with. */
  readonly alg?: string;
}

export interface KeySource {
  /** Throws OAuthKeyError when the keys cannot be had. */
  keys(): Promise<readonly VerificationKey[]>;
}

/** The configured keys are missing or unusable: a server problem, not the client's. */
export class OAuthKeyError extends Error {
  override readonly name = 'OAuthKeyError';
}

/**
 * Keys from text: a JWKS (`{"keys": [...]}`, as an issuer publishes at its jwks_uri), a
 * single JWK, or PEM public keys and certificates. Private keys are refused, so that a
 * signing key pasted by mistake is noticed rather than silently used.
 */
export function parseKeys(text: string, source = 'key file'): VerificationKey[] {
  const trimmed = text.trim();
  const keys = trimmed.startsWith('{') ? keysFromJson(trimmed, source) : keysFromPem(trimmed, source);
  if (keys.length === 0) throw new OAuthKeyError(`${source}: no usable signature verification key`);
  return keys;
}

/**
 * Keys read from a file, re-read when the file changes (one stat per token), so a rotated
 * JWKS applies without a restart.
 */
export class FileKeySource implements KeySource {
  private cached: { readonly version: string; readonly keys: readonly VerificationKey[] } | undefined;

  constructor(readonly path: string) {}

  async keys(): Promise<readonly VerificationKey[]> {
    let version: string;
    try {
      const info = await stat(this.path, { bigint: true });
      version = `${info.ino}:${info.size}:${info.mtimeNs}`;
    } catch (error) {
      throw new OAuthKeyError(`cannot read ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (this.cached?.version === version) return this.cached.keys;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      throw new OAuthKeyError(`cannot read ${this.path}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const keys = parseKeys(text, this.path);
    this.cached = { version, keys };
    return keys;
  }
}

export function staticKeySource(keys: readonly VerificationKey[]): KeySource {
  return { keys: async () => keys };
}

function keysFromJson(text: string, source: string): VerificationKey[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new OAuthKeyError(`${source}: not valid JSON`);
  }
  const list = isRecord(value) && Array.isArray(value.keys) ? (value.keys as unknown[]) : [value];
  const keys: VerificationKey[] = [];
  for (const jwk of list) {
    const key = keyFromJwk(jwk);
    if (key !== undefined) keys.push(key);
  }
  return keys;
}

/**
 * A JWKS may also hold encryption keys and keys of kinds not supported here; those are
 * skipped rather than failing the whole set, as an issuer's set changes under us.
 */
function keyFromJwk(jwk: unknown): VerificationKey | undefined {
  if (!isRecord(jwk) || typeof jwk.kty !== 'string' || jwk.kty === 'oct') return undefined;
  if (jwk.use !== undefined && jwk.use !== 'sig') return undefined;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) return undefined;
  if (jwk.d !== undefined) throw new OAuthKeyError('a private key is in the key file; only public keys belong there');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
  } catch {
    return undefined;
  }
  return {
    key,
    ...(typeof jwk.kid === 'string' && { kid: jwk.kid }),
    ...(typeof jwk.alg === 'string' && { alg: jwk.alg }),
  };
}

function keysFromPem(text: string, source: string): VerificationKey[] {
  const blocks = text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g) ?? [];
  return blocks.map((block) => {
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(block)?.[1] ?? '';
    if (label.includes('PRIVATE')) throw new OAuthKeyError(`${source}: holds a private key; only public keys belong there`);
    try {
      return { key: label === 'CERTIFICATE' ? new X509Certificate(block).publicKey : createPublicKey(block) };
    } catch (error) {
      throw new OAuthKeyError(`${source}: unreadable ${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
