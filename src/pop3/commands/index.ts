import type { Pop3Error } from '../errors.js';
import type { Command, CommandOf, Verb } from '../parser.js';
import type { Pop3Policy } from '../policy.js';
import type { AuthorizationState, SessionState, TransactionState } from '../state.js';
import { auth } from './auth.js';
import { apop, pass, refuseInsecurePlaintext, stls, user } from './authorization.js';
import { capa } from './capa.js';
import type { Handler, HandlerContext, Step } from './context.js';
import { dele, noop, rset } from './dele-rset.js';
import { list, stat, uidl } from './listing.js';
import { quitAuthorization, quitTransaction } from './quit.js';
import { retr, top } from './retr-top.js';
import { lang, utf8 } from './utf8-lang.js';

interface Route<S extends SessionState> {
  readonly handler: Handler<S, Command>;
  /** A refusal that comes before the command's arguments are looked at. */
  readonly gate?: (ctx: HandlerContext) => Pop3Error | null;
}

function route<S extends SessionState, V extends Verb>(handler: Handler<S, CommandOf<V>>, gate?: Route<S>['gate']): Route<S> {
  // Tables are keyed by verb and the session looks up the parsed command's own verb, so a
  // handler only ever receives the command it is registered for.
  return { handler: handler as unknown as Handler<S, Command>, ...(gate ? { gate } : {}) };
}

/** Which verbs each RFC 1939 state accepts; anything else is refused and counted. */
const authorizationRoutes: Partial<Record<Verb, Route<AuthorizationState>>> = {
  USER: route<AuthorizationState, 'USER'>(user, refuseInsecurePlaintext),
  PASS: route<AuthorizationState, 'PASS'>(pass, refuseInsecurePlaintext),
  APOP: route<AuthorizationState, 'APOP'>(apop),
  AUTH: route<AuthorizationState, 'AUTH'>(auth),
  STLS: route<AuthorizationState, 'STLS'>(stls),
  CAPA: route<AuthorizationState, 'CAPA'>(capa),
  QUIT: route<AuthorizationState, 'QUIT'>(quitAuthorization),
  UTF8: route<AuthorizationState, 'UTF8'>(utf8),
  LANG: route<AuthorizationState, 'LANG'>(lang),
};

const transactionRoutes: Partial<Record<Verb, Route<TransactionState>>> = {
  STAT: route<TransactionState, 'STAT'>(stat),
  LIST: route<TransactionState, 'LIST'>(list),
  RETR: route<TransactionState, 'RETR'>(retr),
  DELE: route<TransactionState, 'DELE'>(dele),
  NOOP: route<TransactionState, 'NOOP'>(noop),
  RSET: route<TransactionState, 'RSET'>(rset),
  TOP: route<TransactionState, 'TOP'>(top),
  UIDL: route<TransactionState, 'UIDL'>(uidl),
  CAPA: route<TransactionState, 'CAPA'>(capa),
  QUIT: route<TransactionState, 'QUIT'>(quitTransaction),
  LANG: route<TransactionState, 'LANG'>(lang),
};

const knownVerbs: ReadonlySet<string> = new Set([...Object.keys(authorizationRoutes), ...Object.keys(transactionRoutes)]);

/** A verb's handler bound to the current state, or why there is none. */
export type Lookup =
  | { readonly kind: 'run'; readonly gate?: Route<SessionState>['gate']; readonly run: (command: Command, ctx: HandlerContext) => Promise<Step> }
  | { readonly kind: 'unknown' }
  | { readonly kind: 'wrong-state' };

export function lookup(state: SessionState, verb: string, policy: Pop3Policy): Lookup {
  // APOP is off unless configured: then it is as unknown as any other word.
  if (!knownVerbs.has(verb) || (verb === 'APOP' && !policy.apop)) return { kind: 'unknown' };
  if (state.name === 'AUTHORIZATION') return bind(authorizationRoutes[verb as Verb], state);
  if (state.name === 'TRANSACTION') return bind(transactionRoutes[verb as Verb], state);
  return { kind: 'wrong-state' };
}

function bind<S extends SessionState>(found: Route<S> | undefined, state: S): Lookup {
  if (!found) return { kind: 'wrong-state' };
  return { kind: 'run', ...(found.gate ? { gate: found.gate } : {}), run: (command, ctx) => found.handler(command, state, ctx) };
}
