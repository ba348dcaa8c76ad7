import type { Handler } from './types.js';

/**
 * RFC 2449 CAPA, valid in AUTHORIZATION and TRANSACTION. What it lists depends on the
 * connection: STLS only before TLS (RFC 2595), USER and password mechanisms only where
 * plaintext logins are allowed, SASL only with a mechanism usable here.
 */
export const capa: Handler = async (session) => {
  const { policy } = session;
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (session.state.name === 'AUTHORIZATION') {
    if (session.transport.canStartTls) lines.push('STLS');
    if (session.plaintextAllowed) lines.push('USER');
    const mechanisms = session.saslMechanisms().map((m) => m.name);
    if (mechanisms.length > 0) lines.push(`SASL ${mechanisms.join(' ')}`);
  }
  lines.push(`LOGIN-DELAY ${policy.loginDelaySeconds}`);
  lines.push(`EXPIRE ${policy.expireDays === null ? 'NEVER' : policy.expireDays}`);
  lines.push(`IMPLEMENTATION ${policy.implementation}`);
  await session.replyLines('+OK Capability list follows', lines);
};
