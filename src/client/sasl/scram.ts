import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { saslprep, SaslprepError, saslprepPassword } from '../../auth/sasl/saslprep.js';
import { SaslError, type SaslMechanism } from './types.js';

const pbkdf2Async = promisify(pbkdf2);

/** RFC 7677 asks servers for at least 4096; fewer would make a stolen proof cheap to attack. */
const MIN_ITERATIONS = 4096;
/** Bounds the work a hostile server can make us do (about a second at this count). */
const MAX_ITERATIONS = 1_000_000;

export interface ScramOptions {
  /** For tests with published vectors; otherwise 18 random bytes, base64. */
  readonly clientNonce?: string;
}

/**
 * RFC 5802 / RFC 7677 SCRAM-SHA-256 without channel binding (GS2 header "n,,"). The
 * server must prove it knows the password too: its final message carries a signature
 * that is checked before the login is trusted.
 */
export function scramSha256Mechanism(user: string, password: string, options: ScramOptions = {}): SaslMechanism {
  const nonce = options.clientNonce ?? randomBytes(18).toString('base64');
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(nonce)) throw new SaslError('SCRAM nonce must be printable without ","');
  const clientFirstBare = `n=${escapeName(preparedName(user))},r=${nonce}`;
  // Prepared exactly as the server prepares it when it derives the stored keys.
  const preparedPassword = saslprepPassword(password);
  let step: 'first' | 'final' | 'verify' | 'done' = 'first';
  // 'verify' stays set when the server refused: verifyCompleted() then rejects a later +OK.
  let expectedServerSignature: Buffer | undefined;

  return {
    name: 'SCRAM-SHA-256',
    initialResponse: () => Buffer.from(`n,,${clientFirstBare}`, 'utf8'),
    async respond(challenge) {
      if (step === 'first') {
        step = 'final';
        const serverFirst = challenge.toString('utf8');
        const attrs = parseAttributes(serverFirst);
        if (attrs.has('m')) throw new SaslError('SCRAM: server requires an extension we do not support');
        const combined = attrs.get('r');
        const salt = attrs.get('s');
        const iterations = Number(attrs.get('i'));
        if (combined === undefined || !combined.startsWith(nonce) || combined.length <= nonce.length) {
          throw new SaslError('SCRAM: server nonce does not extend ours');
        }
        if (salt === undefined || salt === '') throw new SaslError('SCRAM: no salt from the server');
        if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS) {
          throw new SaslError(`SCRAM: iteration count ${attrs.get('i') ?? '(none)'} outside ${MIN_ITERATIONS}..${MAX_ITERATIONS}`);
        }
        const salted = await pbkdf2Async(Buffer.from(preparedPassword, 'utf8'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
        const clientFinalWithoutProof = `c=biws,r=${combined}`;
        const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
        const clientKey = hmac(salted, 'Client Key');
        const storedKey = createHash('sha256').update(clientKey).digest();
        const clientSignature = hmac(storedKey, authMessage);
        const proof = Buffer.alloc(clientKey.length);
        for (let i = 0; i < proof.length; i++) proof[i] = (clientKey[i] as number) ^ (clientSignature[i] as number);
        expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
        return Buffer.from(`${clientFinalWithoutProof},p=${proof.toString('base64')}`, 'utf8');
      }
      if (step === 'final') {
        step = 'verify';
        const serverFinal = challenge.toString('utf8');
        // "e=invalid-proof" and kin: the server refused the credentials. An empty answer
        // lets it send its -ERR, which the caller reports as an authentication failure.
        if (/^e=/.test(serverFinal)) return Buffer.alloc(0);
        checkServerFinal(serverFinal, expectedServerSignature as Buffer);
        step = 'done';
        // RFC 5034: server data with success comes as a challenge; the answer is empty.
        return Buffer.alloc(0);
      }
      throw new SaslError('SCRAM: unexpected challenge after the server signature');
    },
    verifyCompleted() {
      if (step !== 'done') throw new SaslError('SCRAM: the server accepted without proving it knows the password');
    },
  };
}

/**
 * Some servers put the server-final message into the +OK line instead of a challenge; the
 * client can check it from there.
 */
export function checkServerFinal(message: string, expected: Buffer): void {
  const attrs = parseAttributes(message);
  const error = attrs.get('e');
  if (error !== undefined) throw new SaslError(`SCRAM: server reported ${error}`);
  const signature = Buffer.from(attrs.get('v') ?? '', 'base64');
  if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) {
    throw new SaslError('SCRAM: server signature does not match; the server does not know the password');
  }
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** RFC 5802 saslname: "=" and "," are escaped as =3D and =2C. */
function escapeName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

function parseAttributes(message: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of message.split(',')) {
    const m = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!m) throw new SaslError('SCRAM: malformed server message');
    if (!attrs.has(m[1] as string)) attrs.set(m[1] as string, m[2] as string);
  }
  return attrs;
}

function preparedName(user: string): string {
  try {
    return saslprep(user, 'query');
  } catch (error) {
    if (error instanceof SaslprepError) throw new SaslError(`user name: ${error.message}`);
    throw error;
  }
}
