import { SaslError, type SaslMechanism } from './types.js';

/** RFC 4616 PLAIN: one message, `authzid NUL authcid NUL password`, in UTF-8. */
export function plainMechanism(user: string, password: string, authzid = ''): SaslMechanism {
  if ([user, password, authzid].some((v) => v.includes('\0'))) throw new SaslError('PLAIN credentials cannot contain NUL');
  return {
    name: 'PLAIN',
    initialResponse: () => Buffer.from(`${authzid}\0${user}\0${password}`, 'utf8'),
    respond: async () => {
      // PLAIN has a single message; a challenge after it means the server misbehaves.
      throw new SaslError('unexpected challenge after PLAIN credentials');
    },
    verifyCompleted: () => undefined,
  };
}
