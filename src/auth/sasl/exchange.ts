import type { SaslExchange, SaslStep } from './types.js';

/*
 * What every mechanism's exchange shares: once it has succeeded or failed it stays
 * finished, and a fault on the server side (users file unreadable, key file missing)
 * becomes a temporary failure instead of an exception in the protocol layer.
 */

export type StepHandler = (response: Buffer | undefined) => Promise<SaslStep>;

export function guardedExchange(handler: StepHandler): SaslExchange {
  let finished = false;
  let busy = false;
  return {
    async step(response) {
      if (finished) return failure('step after the exchange finished');
      // The protocol layer answers one line at a time; a second call while one is pending is a bug there.
      if (busy) return failure('concurrent step');
      busy = true;
      try {
        const result = await handler(response);
        if (result.kind !== 'challenge') finished = true;
        return result;
      } catch (error) {
        finished = true;
        return { kind: 'failure', reason: `internal error: ${error instanceof Error ? error.message : String(error)}`, temporary: true };
      } finally {
        busy = false;
      }
    },
  };
}

export function failure(reason: string, user?: string, temporary = false): SaslStep {
  return { kind: 'failure', reason, ...(user !== undefined && { user }), ...(temporary && { temporary }) };
}

export function challenge(data: string | Buffer): SaslStep {
  return { kind: 'challenge', data: typeof data === 'string' ? Buffer.from(data, 'utf8') : data };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text, or undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
