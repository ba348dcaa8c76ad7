import { challenge, decodeUtf8, failure, guardedExchange } from './exchange.js';
import { canonicalName } from './names.js';
import type { SaslCredentials, SaslMechanism } from './types.js';

/** RFC 4616: `[authzid] NUL authcid NUL passwd` in one message. */
export function plainMechanism(credentials: SaslCredentials): SaslMechanism {
  return {
    name: 'PLAIN',
    exposesPassword: true,
    available: () => true,
    start(ctx) {
      let first = true;
      return guardedExchange(async (response) => {
        // Also checked by whoever offers the mechanism; this keeps a password off the wire's
        // attacker even if that check is forgotten.
        if (!ctx.secure) return failure('PLAIN on a connection that is not secure');
        const isFirst = first;
        first = false;
        // Without an initial response the client speaks after an empty challenge.
        if (response === undefined && isFirst) return challenge('');
        const text = decodeUtf8(response ?? Buffer.alloc(0));
        if (text === undefined) return failure('PLAIN message is not UTF-8');
        const parts = text.split('\0');
        if (parts.length !== 3) return failure('PLAIN message does not have three NUL-separated fields');
        const [authzid = '', authcid = '', password = ''] = parts;
        if (authcid === '' || password === '') return failure('PLAIN message with an empty user or password', authcid || undefined);
        if (authzid !== '') {
          const user = canonicalName(authcid);
          if (user === undefined || canonicalName(authzid) !== user) return failure('PLAIN authzid differs from authcid (no proxy authorization)', authcid);
        }
        const user = await credentials.verifyPassword(authcid, password);
        return user === null ? failure('PLAIN: unknown user or wrong password', authcid) : { kind: 'success', user };
      });
    },
  };
}
