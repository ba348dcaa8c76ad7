import { challenge, decodeUtf8, failure, guardedExchange } from './exchange.js';
import type { SaslCredentials, SaslMechanism } from './types.js';

/*
 * LOGIN (draft-murchison-sasl-login): the server asks "Username:" then "Password:". Some
 * clients send the user name as an initial response, which skips the first question.
 */
export function loginMechanism(credentials: SaslCredentials): SaslMechanism {
  return {
    name: 'LOGIN',
    exposesPassword: true,
    available: () => true,
    start(ctx) {
      let state: 'start' | 'username' | 'password' = 'start';
      let user = '';
      return guardedExchange(async (response) => {
        if (!ctx.secure) return failure('LOGIN on a connection that is not secure');
        if (state === 'start' && (response === undefined || response.length === 0)) {
          state = 'username';
          return challenge('Username:');
        }
        if (state === 'start' || state === 'username') {
          const name = decodeUtf8(response ?? Buffer.alloc(0));
          if (name === undefined || name === '') return failure('LOGIN user name empty or not UTF-8');
          user = name;
          state = 'password';
          return challenge('Password:');
        }
        const password = decodeUtf8(response ?? Buffer.alloc(0));
        if (password === undefined || password === '') return failure('LOGIN password empty or not UTF-8', user);
        const verified = await credentials.verifyPassword(user, password);
        return verified === null ? failure('LOGIN: unknown user or wrong password', user) : { kind: 'success', user: verified };
      });
    },
  };
}
