import { randomBytes } from 'node:crypto';
import { constantTimeEqual } from '../constant-time.js';
import { challenge, decodeUtf8, failure, guardedExchange } from './exchange.js';
import { decodeSaslname, parseGs2Header, type Gs2Header } from './gs2.js';
import { authzidAllowed, canonicalName } from './names.js';
import { saslprep, SaslprepError } from './saslprep.js';
import { hmac, sha256, strictBase64 } from './scram-keys.js';
import { standIn } from './stand-in.js';
import type { SaslContext, SaslCredentials, SaslMechanism, SaslStep, ScramCredentials } from './types.js';

/*
 * Server side of SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677), with channel
 * binding to the TLS connection (RFC 5929 tls-server-end-point, RFC 9266 tls-exporter).
 */

export interface ScramOptions {
  readonly credentials: SaslCredentials;
  /** The -PLUS variant: channel binding required. */
  readonly plus: boolean;
  /** Keys the stand-in credentials of unknown users; keep it across restarts. */
  readonly secret: Buffer;
  /** Iteration count announced for unknown users: the one new users get. */
  readonly iterations: number;
  /**
   * Whether SCRAM-SHA-256-PLUS is offered on this connection. A client that says "y" (I
   * could bind, but you cannot) while it is, has seen a list an attacker trimmed (RFC 5802
   * section 6), and is refused. Only used by the variant without -PLUS.
   */
  readonly plusOffered?: (ctx: SaslContext) => boolean;
  /** Tests only: the server's part of the nonce (printable ASCII without ','). */
  readonly nonce?: () => string;
}

/** Channel binding types, in no order of preference: the client picks. */
export const CHANNEL_BINDING_TYPES = ['tls-exporter', 'tls-server-end-point'] as const;

/** The channel binding data of this connection for a type, if it has any. */
export function channelBindingData(ctx: SaslContext, type: string): Buffer | undefined {
  if (type === 'tls-exporter') return ctx.tls?.exporter?.();
  if (type === 'tls-server-end-point') return ctx.tls?.serverEndPoint;
  // tls-unique is not offered: it is undefined for TLS 1.3 and weak for 1.2 (RFC 9266).
  return undefined;
}

export function scramMechanism(options: ScramOptions): SaslMechanism {
  const name = options.plus ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256';
  const makeNonce = options.nonce ?? (() => randomBytes(24).toString('base64'));
  return {
    name,
    exposesPassword: false,
    available: (ctx) => !options.plus || CHANNEL_BINDING_TYPES.some((type) => channelBindingData(ctx, type) !== undefined),
    start(ctx) {
      let state: ClientFirstState | ClientFinalState | ErrorState = { name: 'client-first', asked: false };
      return guardedExchange(async (response) => {
        switch (state.name) {
          case 'client-first': {
            if (response === undefined && !state.asked) {
              state = { name: 'client-first', asked: true };
              return challenge('');
            }
            const next = await clientFirst(options, ctx, response ?? Buffer.alloc(0), makeNonce);
            if ('kind' in next) return next;
            state = next;
            return challenge(next.serverFirst);
          }
          case 'client-final': {
            const outcome = clientFinal(state, response ?? Buffer.alloc(0));
            if (outcome.kind === 'success') return outcome;
            // Sent as a challenge: SASL carries no data with a failure, and POP3 and SMTP
            // have none. The client's reply, whatever it is, ends the exchange.
            state = { name: 'error', failure: { kind: 'failure', reason: outcome.reason, user: outcome.user } };
            return challenge(`e=${outcome.error}`);
          }
          case 'error':
            return state.failure;
        }
      });
    },
  };
}

interface ClientFirstState {
  readonly name: 'client-first';
  readonly asked: boolean;
}

interface ClientFinalState {
  readonly name: 'client-final';
  readonly gs2: Gs2Header;
  readonly cbData: Buffer;
  readonly clientFirstBare: string;
  readonly serverFirst: string;
  readonly nonce: string;
  readonly credentials: ScramCredentials;
  /** False for stand-in credentials: no proof can pass. */
  readonly real: boolean;
  readonly claimed: string;
}

interface ErrorState {
  readonly name: 'error';
  readonly failure: SaslStep;
}

type FinalFailure = { readonly kind: 'failure'; readonly reason: string; readonly user: string; readonly error: string };

async function clientFirst(
  options: ScramOptions,
  ctx: SaslContext,
  response: Buffer,
  makeNonce: () => string,
): Promise<ClientFinalState | SaslStep> {
  const text = decodeUtf8(response);
  if (text === undefined) return failure('SCRAM client-first-message is not UTF-8');
  const gs2 = parseGs2Header(text);
  if (typeof gs2 === 'string') return failure(`SCRAM: ${gs2}`);
  const flag = gs2.flag;
  let cbData: Buffer = Buffer.alloc(0);
  if (options.plus) {
    if (flag.kind !== 'p') return failure('SCRAM-SHA-256-PLUS without channel binding');
    const data = channelBindingData(ctx, flag.name);
    if (data === undefined) return failure(`SCRAM: channel binding type ${flag.name} not available on this connection`);
    cbData = data;
  } else {
    if (flag.kind === 'p') return failure('SCRAM-SHA-256 with a channel binding request (that is SCRAM-SHA-256-PLUS)');
    if (flag.kind === 'y' && (options.plusOffered?.(ctx) ?? false)) {
      return failure('SCRAM downgrade: client supports channel binding and SCRAM-SHA-256-PLUS is offered');
    }
  }

  const bare = gs2.rest;
  const attributes = bare.split(',');
  const [userAttribute = '', nonceAttribute = '', ...extensions] = attributes;
  if (userAttribute.startsWith('m=')) return failure('SCRAM mandatory extension not supported');
  if (!userAttribute.startsWith('n=') || !nonceAttribute.startsWith('r=')) return failure('SCRAM client-first-message-bare malformed');
  if (!extensions.every((ext) => /^[A-Za-z]=/.test(ext))) return failure('SCRAM client-first-message-bare malformed');
  const escaped = decodeSaslname(userAttribute.slice(2));
  if (escaped === undefined) return failure('SCRAM user name badly encoded');
  let claimed: string;
  try {
    claimed = saslprep(escaped, 'query');
  } catch (error) {
    if (error instanceof SaslprepError) return failure(`SCRAM user name: ${error.problem}`, escaped);
    throw error;
  }
  if (claimed === '') return failure('SCRAM user name empty after SASLprep');
  const clientNonce = nonceAttribute.slice(2);
  if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(clientNonce)) return failure('SCRAM client nonce malformed', claimed);

  const canonical = canonicalName(claimed);
  if (gs2.authzid !== undefined && (canonical === undefined || !authzidAllowed(gs2.authzid, canonical))) {
    return failure('SCRAM authzid differs from the user (no proxy authorization)', claimed);
  }
  const found = canonical === undefined ? null : await options.credentials.scram(claimed);
  const credentials = found ?? standInCredentials(options, canonical ?? claimed);
  const nonce = clientNonce + makeNonce();
  const serverFirst = `r=${nonce},s=${credentials.salt.toString('base64')},i=${credentials.iterations}`;
  return { name: 'client-final', gs2, cbData, clientFirstBare: bare, serverFirst, nonce, credentials, real: found !== null, claimed };
}

function clientFinal(state: ClientFinalState, response: Buffer): Extract<SaslStep, { kind: 'success' }> | FinalFailure {
  const fail = (reason: string, error: string): FinalFailure => ({ kind: 'failure', reason: `SCRAM: ${reason}`, user: state.claimed, error });
  const text = decodeUtf8(response);
  if (text === undefined) return fail('client-final-message is not UTF-8', 'invalid-encoding');
  const proofAt = text.lastIndexOf(',p=');
  if (proofAt < 0) return fail('client-final-message has no proof', 'invalid-encoding');
  const withoutProof = text.slice(0, proofAt);
  const [bindingAttribute = '', nonceAttribute = '', ...extensions] = withoutProof.split(',');
  if (!bindingAttribute.startsWith('c=') || !nonceAttribute.startsWith('r=') || !extensions.every((ext) => /^[A-Za-z]=/.test(ext))) {
    return fail('client-final-message malformed', 'invalid-encoding');
  }
  const binding = strictBase64(bindingAttribute.slice(2));
  const proof = strictBase64(text.slice(proofAt + 3));
  if (binding === undefined || proof === undefined) return fail('bad base64 in client-final-message', 'invalid-encoding');
  // c= must repeat the GS2 header (so its flag and authzid cannot have been altered in
  // flight) followed by this connection's channel binding data.
  const expectedBinding = Buffer.concat([Buffer.from(state.gs2.raw, 'utf8'), state.cbData]);
  if (!constantTimeEqual(binding, expectedBinding)) return fail('channel binding mismatch', 'channel-bindings-dont-match');
  if (nonceAttribute.slice(2) !== state.nonce) return fail('nonce mismatch', 'other-error');
  if (proof.length !== state.credentials.storedKey.length) return fail('proof of the wrong length', 'invalid-proof');

  const authMessage = `${state.clientFirstBare},${state.serverFirst},${withoutProof}`;
  const clientSignature = hmac(state.credentials.storedKey, authMessage);
  const clientKey = Buffer.alloc(proof.length);
  for (let i = 0; i < proof.length; i++) clientKey[i] = (proof[i] ?? 0) ^ (clientSignature[i] ?? 0);
  const proofMatches = constantTimeEqual(sha256(clientKey), state.credentials.storedKey);
  if (!state.real) return fail('unknown user or no SCRAM keys', 'invalid-proof');
  if (!proofMatches) return fail('wrong password (invalid proof)', 'invalid-proof');
  const serverSignature = hmac(state.credentials.serverKey, authMessage);
  return { kind: 'success', user: state.credentials.user, final: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8') };
}

function standInCredentials(options: ScramOptions, user: string): ScramCredentials {
  return {
    user,
    iterations: options.iterations,
    salt: standIn(options.secret, 'scram-sha-256 salt', user, 16),
    storedKey: standIn(options.secret, 'scram-sha-256 stored key', user),
    serverKey: standIn(options.secret, 'scram-sha-256 server key', user),
  };
}
