import { createHmac, randomBytes } from 'node:crypto';
import { hostname as systemHostname } from 'node:os';
import { constantTimeEqual } from '../constant-time.js';
import { challenge, decodeUtf8, failure, guardedExchange } from './exchange.js';
import { standIn } from './stand-in.js';
import type { SaslCredentials, SaslMechanism } from './types.js';

export interface CramMd5Options {
  readonly credentials: SaslCredentials;
  /** Keys the stand-in secret of users without a plaintext-equivalent one. */
  readonly secret: Buffer;
  /** Ends the challenge, `<random.time@hostname>`. */
  readonly hostname?: string;
  /** Tests only: a fixed challenge. */
  readonly challenge?: () => string;
}

/**
 * RFC 2195. The server must know the password itself, so only users stored as {PLAIN} can
 * use it; offer it only when a client needs it.
 */
export function cramMd5Mechanism(options: CramMd5Options): SaslMechanism {
  const host = options.hostname ?? systemHostname();
  const makeChallenge = options.challenge ?? (() => `<${randomBytes(8).readBigUInt64BE()}.${Date.now()}@${host}>`);
  return {
    name: 'CRAM-MD5',
    exposesPassword: false,
    available: () => true,
    start() {
      let sent: string | undefined;
      return guardedExchange(async (response) => {
        if (sent === undefined) {
          // The server speaks first in CRAM-MD5; an initial response has no place.
          if (response !== undefined && response.length > 0) return failure('CRAM-MD5 with an initial response');
          sent = makeChallenge();
          return challenge(sent);
        }
        const text = decodeUtf8(response ?? Buffer.alloc(0));
        const match = text === undefined ? null : /^(.+) ([0-9a-fA-F]{32})$/s.exec(text);
        if (match === null) return failure('CRAM-MD5 response is not "user digest"');
        const [, user = '', digest = ''] = match;
        const found = await options.credentials.plaintextSecret(user);
        // A stand-in secret keeps the work, and so the time, the same for users who cannot match.
        const key = found === null ? standIn(options.secret, 'cram-md5', user) : Buffer.from(found.secret, 'utf8');
        const expected = createHmac('md5', key).update(sent, 'utf8').digest('hex');
        const matches = constantTimeEqual(Buffer.from(expected, 'latin1'), Buffer.from(digest.toLowerCase(), 'latin1'));
        if (found === null) return failure('CRAM-MD5: unknown user or no plaintext-equivalent secret', user);
        return matches ? { kind: 'success', user: found.user } : failure('CRAM-MD5: wrong digest', user);
      });
    },
  };
}
