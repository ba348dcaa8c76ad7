import type { Pop3Client } from '../client.js';
import type { AuthMethod } from './account.js';

/** Logs in with the configured method; 'auto' prefers a mechanism that never sends the password. */
export async function logIn(client: Pop3Client, method: AuthMethod, user: string, secret: string): Promise<void> {
  const caps = client.capabilities;
  let chosen = method;
  if (method === 'auto') {
    if (caps.sasl.includes('SCRAM-SHA-256')) chosen = 'SCRAM-SHA-256';
    else if (caps.user || !caps.known) chosen = 'user';
    else if (caps.sasl.includes('PLAIN')) chosen = 'PLAIN';
    else if (caps.sasl.includes('LOGIN')) chosen = 'LOGIN';
    else chosen = 'user';
  }
  if (chosen === 'user') return client.login(user, secret);
  if (chosen === 'apop') return client.apop(user, secret);
  if (chosen === 'auto') throw new Error('unreachable: auth method not resolved');
  return client.authenticate(chosen, { user, secret });
}
