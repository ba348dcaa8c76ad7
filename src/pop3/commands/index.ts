import type { StateName } from '../state.js';
import { auth } from './auth.js';
import { apop, pass, stls, user } from './authorization.js';
import { capa } from './capa.js';
import { dele, noop, rset } from './dele-rset.js';
import { list, stat, uidl } from './listing.js';
import { quitAuthorization, quitTransaction } from './quit.js';
import { retr, top } from './retr-top.js';
import type { Handler } from './types.js';

/** Which verbs each RFC 1939 state accepts; anything else is refused and counted. */
export const commandTable: Partial<Record<StateName, Readonly<Record<string, Handler>>>> = {
  AUTHORIZATION: { USER: user, PASS: pass, APOP: apop, AUTH: auth, STLS: stls, CAPA: capa, QUIT: quitAuthorization },
  TRANSACTION: { STAT: stat, LIST: list, RETR: retr, DELE: dele, NOOP: noop, RSET: rset, TOP: top, UIDL: uidl, CAPA: capa, QUIT: quitTransaction },
};

export const knownVerbs: ReadonlySet<string> = new Set(Object.values(commandTable).flatMap((table) => Object.keys(table ?? {})));
