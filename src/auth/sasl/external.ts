import { challenge, decodeUtf8, failure, guardedExchange } from './exchange.js';
import { authzidAllowed } from './names.js';
import type { SaslCredentials, SaslMechanism } from './types.js';

/**
 * EXTERNAL (RFC 4422 appendix A): the identity comes from the TLS client certificate the
 * connection layer verified; the client's message is only an authzid, empty or that user.
 */
export function externalMechanism(credentials: SaslCredentials): SaslMechanism {
  return {
    name: 'EXTERNAL',
    exposesPassword: false,
    available: (ctx) => ctx.tls?.clientCertUser !== undefined,
    start(ctx) {
      let first = true;
      return guardedExchange(async (response) => {
        const isFirst = first;
        first = false;
        if (response === undefined && isFirst) return challenge('');
        const authzid = decodeUtf8(response ?? Buffer.alloc(0));
        if (authzid === undefined) return failure('EXTERNAL authzid is not UTF-8');
        const certUser = ctx.tls?.clientCertUser;
        if (certUser === undefined) return failure('EXTERNAL without a verified client certificate', authzid || undefined);
        const user = await credentials.exists(certUser);
        if (user === null) return failure(`EXTERNAL: certificate names ${certUser}, who is not a user here`, certUser);
        if (!authzidAllowed(authzid, user)) return failure('EXTERNAL authzid differs from the certificate user', authzid);
        return { kind: 'success', user };
      });
    },
  };
}
