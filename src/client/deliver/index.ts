import { MaildirDestination } from './maildir.js';
import { MboxDestination } from './mbox.js';
import { MdaDestination } from './mda.js';
import { ForwardDestination } from './smtp.js';
import type { Destination } from './types.js';

export { DeliveryError, type Delivery, type Destination, type MessageMeta, type RecoveryOutcome, type RecoveryToken } from './types.js';
export { MaildirDestination } from './maildir.js';
export { MboxDestination } from './mbox.js';
export { MdaDestination } from './mda.js';
export { ForwardDestination, type ForwardOptions } from './smtp.js';

/** A destination as configured: `maildir:PATH`, `mbox:FILE`, `mda:COMMAND`, `lmtp:HOST:PORT`, `smtp:HOST:PORT`. */
export type DestinationSpec =
  | { readonly kind: 'maildir'; readonly path: string }
  | { readonly kind: 'mbox'; readonly path: string }
  | { readonly kind: 'mda'; readonly command: string }
  | { readonly kind: 'smtp' | 'lmtp'; readonly host: string; readonly port: number; readonly recipient: string };

export function createDestination(spec: DestinationSpec, options: { readonly timeoutMs?: number } = {}): Destination {
  switch (spec.kind) {
    case 'maildir':
      return new MaildirDestination(spec.path);
    case 'mbox':
      return new MboxDestination(spec.path);
    case 'mda':
      return new MdaDestination(spec.command);
    case 'smtp':
    case 'lmtp':
      return new ForwardDestination({ protocol: spec.kind, host: spec.host, port: spec.port, recipient: spec.recipient, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
    default: {
      const unknown: never = spec;
      throw new Error(`unknown destination ${JSON.stringify(unknown)}`);
    }
  }
}
