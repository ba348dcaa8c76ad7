/** RFC 2449 section 8 and RFC 3206 response codes that postel sends. */
export type ResponseCode = 'IN-USE' | 'LOGIN-DELAY' | 'SYS/TEMP' | 'SYS/PERM' | 'AUTH';

/**
 * A refusal the client should see: the session answers `-ERR [CODE] text` and goes on.
 * Anything else thrown by a handler is an internal fault: logged, answered with a generic
 * `-ERR [SYS/TEMP]`, its details kept off the wire.
 */
export class Pop3Error extends Error {
  override readonly name = 'Pop3Error';
  constructor(
    readonly text: string,
    readonly code?: ResponseCode,
    /** Whether this counts towards the bad-command limit (syntax and state errors do). */
    readonly badCommand = false,
  ) {
    super(text);
  }

  get wire(): string {
    return this.code ? `-ERR [${this.code}] ${this.text}` : `-ERR ${this.text}`;
  }
}

/** A syntax or state error: answered, and counted towards closing the session. */
export function badCommand(text: string): Pop3Error {
  return new Pop3Error(text, undefined, true);
}
