import type { CommandOf } from '../parser.js';
import type { AuthorizationState, TransactionState } from '../state.js';
import { plaintextAllowed, saslMechanisms, type Handler } from './context.js';

/**
 * RFC 2449 CAPA, valid in AUTHORIZATION and TRANSACTION. What it lists depends on the
 * connection: STLS only before TLS (RFC 2595), USER and password mechanisms only where
 * plaintext logins are allowed, SASL only with a mechanism usable here.
 */
export const capa: Handler<AuthorizationState | TransactionState, CommandOf<'CAPA'>> = async (_command, state, ctx) => {
  const { policy } = ctx;
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (state.name === 'AUTHORIZATION') {
    if (ctx.peer.canStartTls) lines.push('STLS');
    if (plaintextAllowed(ctx)) lines.push('USER');
    // RFC 6856: UTF8 (with USER: UTF-8 in USER and PASS) is only issued before login.
    lines.push(plaintextAllowed(ctx) ? 'UTF8 USER' : 'UTF8');
    const mechanisms = saslMechanisms(ctx).map((m) => m.name);
    if (mechanisms.length > 0) lines.push(`SASL ${mechanisms.join(' ')}`);
  }
  lines.push(`LOGIN-DELAY ${policy.loginDelaySeconds}`);
  lines.push(`EXPIRE ${policy.expireDays === null ? 'NEVER' : policy.expireDays}`);
  lines.push(`IMPLEMENTATION ${policy.implementation}`);
  lines.push('LANG');
  return { reply: { status: '+OK Capability list follows', lines } };
};
