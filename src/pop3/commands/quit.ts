import type { Handler } from './types.js';

export const quitAuthorization: Handler = async (session) => {
  await session.reply(`+OK ${session.policy.implementation} signing off`);
  await session.close('quit');
};

/**
 * QUIT in TRANSACTION enters UPDATE: marked messages are removed, retrieved ones marked
 * seen, the lock released, and the client always gets an answer (RFC 1939 section 6).
 */
export const quitTransaction: Handler = async (session) => {
  const state = session.state;
  if (state.name !== 'TRANSACTION') throw new Error(`QUIT handler called in ${state.name}`);
  session.state = { name: 'UPDATE', user: state.user };
  const deleted = new Set(state.deleted);
  // EXPIRE 0: retrieved messages are not kept, as if the client had deleted them.
  if (session.policy.expireDays === 0) for (const i of state.retrieved) deleted.add(i);
  const commit = state.maildrop.commit({ deleted, retrieved: state.retrieved });
  session.pendingCommit = commit;
  try {
    await commit;
    session.stats.expunged = deleted.size;
    await session.reply(`+OK ${session.policy.implementation} signing off (${deleted.size} messages deleted)`);
  } catch (err) {
    session.log.error({ err, event: 'commit_failed' }, 'commit failed');
    await session.reply('-ERR [SYS/TEMP] Some deleted messages could not be removed');
  } finally {
    session.pendingCommit = null;
  }
  await session.close('quit');
};
