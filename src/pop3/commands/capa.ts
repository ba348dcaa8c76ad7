import type { Handler } from './types.js';

/** RFC 2449 CAPA: valid in AUTHORIZATION and TRANSACTION; lists what postel does. */
export const capa: Handler = async (session) => {
  const { policy } = session;
  const lines = ['TOP', 'USER', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  lines.push(`LOGIN-DELAY ${policy.loginDelaySeconds}`);
  lines.push(`EXPIRE ${policy.expireDays === null ? 'NEVER' : policy.expireDays}`);
  lines.push(`IMPLEMENTATION ${policy.implementation}`);
  await session.replyLines('+OK Capability list follows', lines);
};
