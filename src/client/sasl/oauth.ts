import { SaslError, type SaslMechanism } from './types.js';

/**
 * Google's and Microsoft's XOAUTH2: `user=U ^A auth=Bearer T ^A ^A`. On failure the
 * server sends a JSON error as a challenge, which the client answers with an empty line
 * before the server's -ERR.
 */
export function xoauth2Mechanism(user: string, token: string): SaslMechanism {
  checkFields(user, token);
  let failed = false;
  return {
    name: 'XOAUTH2',
    initialResponse: () => Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`, 'utf8'),
    respond: async () => {
      if (failed) throw new SaslError('XOAUTH2: unexpected second challenge');
      failed = true;
      return Buffer.alloc(0);
    },
    verifyCompleted: () => undefined,
  };
}

/**
 * RFC 7628 OAUTHBEARER: a GS2 header naming the user, then host, port and the bearer
 * token as ^A-separated key=value pairs. An error challenge (JSON) is answered with a
 * single ^A, as section 3.2.3 requires, and the server then sends its -ERR.
 */
export function oauthBearerMechanism(user: string, token: string, host: string, port: number): SaslMechanism {
  checkFields(user, token);
  let failed = false;
  const gs2User = user.replace(/=/g, '=3D').replace(/,/g, '=2C');
  return {
    name: 'OAUTHBEARER',
    initialResponse: () => Buffer.from(`n,a=${gs2User},\x01host=${host}\x01port=${port}\x01auth=Bearer ${token}\x01\x01`, 'utf8'),
    respond: async () => {
      if (failed) throw new SaslError('OAUTHBEARER: unexpected second challenge');
      failed = true;
      return Buffer.from([0x01]);
    },
    verifyCompleted: () => undefined,
  };
}

function checkFields(user: string, token: string): void {
  // ^A separates the fields; a token is RFC 6750 b64token, so it never holds one.
  if (/[\x00-\x1f]/.test(user) || !/^[A-Za-z0-9\-._~+/]+=*$/.test(token)) {
    throw new SaslError('OAuth user name or token has characters a bearer token cannot carry');
  }
}
