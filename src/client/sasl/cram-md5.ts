import { createHmac } from 'node:crypto';
import { SaslError, type SaslMechanism } from './types.js';

/** RFC 2195 CRAM-MD5: `user SP hex(HMAC-MD5(password, challenge))`. */
export function cramMd5Mechanism(user: string, password: string): SaslMechanism {
  let answered = false;
  return {
    name: 'CRAM-MD5',
    initialResponse: () => undefined,
    respond: async (challenge) => {
      if (answered) throw new SaslError('CRAM-MD5: more than one challenge');
      answered = true;
      const digest = createHmac('md5', Buffer.from(password, 'utf8')).update(challenge).digest('hex');
      return Buffer.from(`${user} ${digest}`, 'utf8');
    },
    verifyCompleted: () => undefined,
  };
}
