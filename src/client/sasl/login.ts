import { SaslError, type SaslMechanism } from './types.js';

/**
 * LOGIN (draft-murchison-sasl-login): the server asks twice, user name then password.
 * The prompts' text varies between servers ("Username:", "User Name"...), so only their
 * order is used.
 */
export function loginMechanism(user: string, password: string): SaslMechanism {
  let step = 0;
  return {
    name: 'LOGIN',
    initialResponse: () => undefined,
    respond: async () => {
      step++;
      if (step === 1) return Buffer.from(user, 'utf8');
      if (step === 2) return Buffer.from(password, 'utf8');
      throw new SaslError('LOGIN: more than two challenges');
    },
    verifyCompleted: () => undefined,
  };
}
