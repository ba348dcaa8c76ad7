import type { OAuthValidator } from '../oauth/types.js';
import { challenge, decodeUtf8, failure, guardedExchange } from './exchange.js';
import { parseGs2Header } from './gs2.js';
import { authzidAllowed } from './names.js';
import type { SaslCredentials, SaslMechanism, SaslStep } from './types.js';

/*
 * OAUTHBEARER (RFC 7628) and Google's XOAUTH2: the client sends an OAuth 2.0 bearer token.
 * A token is as good as a password for its lifetime, so both count as exposing one.
 */

export interface OAuthMechanismOptions {
  readonly credentials: SaslCredentials;
  readonly validator: OAuthValidator;
  /** Sent to a client whose token failed (RFC 7628 section 3.2.2), so it can get a new one. */
  readonly scope?: string;
  readonly openidConfiguration?: string;
}

/** Longest token accepted; real ones stay under 4 KB. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** RFC 6750 b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i;

export function oauthBearerMechanism(options: OAuthMechanismOptions): SaslMechanism {
  return oauthMechanism('OAUTHBEARER', options, parseOAuthBearer, () =>
    errorJson({ status: 'invalid_token', scope: options.scope, 'openid-configuration': options.openidConfiguration }),
  );
}

export function xoauth2Mechanism(options: OAuthMechanismOptions): SaslMechanism {
  // The shape Google's servers send, which XOAUTH2 clients expect.
  return oauthMechanism('XOAUTH2', options, parseXoauth2, () => errorJson({ status: '401', schemes: 'bearer', scope: options.scope }));
}

interface TokenMessage {
  /** The user the client names (OAUTHBEARER authzid, XOAUTH2 user=), if any. */
  readonly user: string | undefined;
  readonly token: string;
}

function oauthMechanism(
  name: string,
  options: OAuthMechanismOptions,
  parse: (text: string) => TokenMessage | string,
  errorChallenge: () => string,
): SaslMechanism {
  return {
    name,
    exposesPassword: true,
    available: () => true,
    start(ctx) {
      let state: 'initial' | 'asked' | 'error' = 'initial';
      let pending: SaslStep = failure(`${name}: invalid token`);
      return guardedExchange(async (response) => {
        if (!ctx.secure) return failure(`${name} on a connection that is not secure`);
        if (state === 'error') {
          // RFC 7628 section 3.2.3: the client acknowledges the error with a lone %x01 (XOAUTH2
          // clients send an empty reply). Whatever it sends, the exchange fails here.
          return pending;
        }
        if (response === undefined && state === 'initial') {
          state = 'asked';
          return challenge('');
        }
        const text = decodeUtf8(response ?? Buffer.alloc(0));
        if (text === undefined) return failure(`${name} message is not UTF-8`);
        const message = parse(text);
        if (typeof message === 'string') return failure(`${name}: ${message}`);
        if (message.token.length > MAX_TOKEN_LENGTH) return failure(`${name}: token too long`, message.user);
        const outcome = await check(options, message);
        if (outcome.kind !== 'failure' || outcome.temporary === true) return outcome;
        state = 'error';
        pending = outcome;
        return challenge(errorChallenge());
      });
    },
  };
}

async function check(options: OAuthMechanismOptions, message: TokenMessage): Promise<SaslStep> {
  const result = await options.validator.validate(message.token);
  if (!result.ok) return failure(`token refused: ${result.reason}`, message.user, result.temporary === true);
  const user = await options.credentials.exists(result.user);
  if (user === null) return failure(`token for ${result.user}, who is not a user here`, message.user ?? result.user);
  if (!authzidAllowed(message.user, user)) return failure(`token for ${user} presented for another user`, message.user);
  return { kind: 'success', user };
}

/** `n,a=user,` then %x01-separated key=value pairs, then %x01 %x01. */
export function parseOAuthBearer(text: string): TokenMessage | string {
  const gs2 = parseGs2Header(text);
  if (typeof gs2 === 'string') return gs2;
  // No OAUTHBEARER-PLUS is offered, so a client that wants channel binding cannot have it.
  if (gs2.flag.kind === 'p') return 'channel binding requested';
  const pairs = parsePairs(gs2.rest.startsWith('\x01') ? gs2.rest.slice(1) : undefined);
  if (typeof pairs === 'string') return pairs;
  const auth = pairs.get('auth');
  const token = auth === undefined ? null : BEARER.exec(auth);
  if (token?.[1] === undefined) return 'no "auth=Bearer TOKEN"';
  return { user: gs2.authzid, token: token[1] };
}

/** `user=NAME` %x01 `auth=Bearer TOKEN` %x01 %x01. */
export function parseXoauth2(text: string): TokenMessage | string {
  const pairs = parsePairs(text);
  if (typeof pairs === 'string') return pairs;
  const user = pairs.get('user');
  const auth = pairs.get('auth');
  const token = auth === undefined ? null : BEARER.exec(auth);
  if (user === undefined || user === '') return 'no user=';
  if (token?.[1] === undefined) return 'no "auth=Bearer TOKEN"';
  return { user, token: token[1] };
}

/** `key=value` %x01 ... %x01, each key once (RFC 7628 section 3.1). */
function parsePairs(text: string | undefined): Map<string, string> | string {
  if (text === undefined || !text.endsWith('\x01')) return 'key/value list not terminated';
  const pairs = new Map<string, string>();
  const body = text.slice(0, -1);
  if (body === '') return pairs;
  if (!body.endsWith('\x01')) return 'key/value list not terminated';
  for (const pair of body.slice(0, -1).split('\x01')) {
    const match = /^([A-Za-z]+)=([\x21-\x7e \t\r\n]*)$/.exec(pair);
    if (match === null) return 'malformed key/value pair';
    const [, key = '', value = ''] = match;
    if (pairs.has(key)) return `key ${key} given twice`;
    pairs.set(key, value);
  }
  return pairs;
}

function errorJson(fields: Record<string, string | undefined>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)));
}
