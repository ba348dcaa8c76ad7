import { fields, parseCount } from './status-line.js';

/**
 * What a server announced with RFC 2449 CAPA. `known` is false when the server does not
 * implement CAPA (a bare RFC 1939 server): callers then try commands and read the answers.
 */
export interface Capabilities {
  readonly known: boolean;
  /** Every tag, upper-cased, with its arguments as sent. */
  readonly tags: ReadonlyMap<string, readonly string[]>;
  readonly stls: boolean;
  readonly user: boolean;
  readonly top: boolean;
  readonly uidl: boolean;
  readonly pipelining: boolean;
  readonly respCodes: boolean;
  /** RFC 5034 SASL mechanisms, upper-cased. */
  readonly sasl: readonly string[];
  /** RFC 2449 LOGIN-DELAY in seconds, when announced. */
  readonly loginDelaySeconds: number | undefined;
  /** RFC 2449 EXPIRE: days, 'NEVER', or undefined when not announced. */
  readonly expire: number | 'NEVER' | undefined;
  readonly implementation: string | undefined;
}

export const UNKNOWN_CAPABILITIES: Capabilities = Object.freeze({
  known: false,
  tags: new Map(),
  stls: false,
  user: false,
  top: false,
  uidl: false,
  pipelining: false,
  respCodes: false,
  sasl: [],
  loginDelaySeconds: undefined,
  expire: undefined,
  implementation: undefined,
});

/** Parses the lines of a CAPA response (without the status line and terminator). */
export function parseCapabilities(lines: readonly string[]): Capabilities {
  const tags = new Map<string, string[]>();
  for (const line of lines) {
    const [tag, ...args] = fields(line);
    if (tag === undefined) continue;
    // A tag repeated (some servers list SASL twice) adds to the first.
    const upper = tag.toUpperCase();
    tags.set(upper, [...(tags.get(upper) ?? []), ...args]);
  }
  const loginDelay = tags.get('LOGIN-DELAY');
  const expire = tags.get('EXPIRE');
  const expireValue = expire?.[0];
  return {
    known: true,
    tags,
    stls: tags.has('STLS'),
    user: tags.has('USER'),
    top: tags.has('TOP'),
    uidl: tags.has('UIDL'),
    pipelining: tags.has('PIPELINING'),
    respCodes: tags.has('RESP-CODES'),
    sasl: (tags.get('SASL') ?? []).map((m) => m.toUpperCase()),
    loginDelaySeconds: parseCount(loginDelay?.[0]),
    expire: expireValue === undefined ? undefined : expireValue.toUpperCase() === 'NEVER' ? 'NEVER' : parseCount(expireValue),
    implementation: tags.get('IMPLEMENTATION')?.join(' '),
  };
}
