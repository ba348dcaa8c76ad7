import type { AccountState } from './state.js';

/** What to do with mail on the server. */
export interface FetchPolicy {
  /** Leave messages on the server after download (fetch only new ones, by UIDL). */
  readonly keep: boolean;
  /** With keep: delete a delivered message this many days after it was first seen. */
  readonly deleteAfterDays?: number;
  /** Messages larger than this (octets, from LIST) are not downloaded whole. */
  readonly maxSize?: number;
  /** Over maxSize: skip (leave on the server) or deliver the header only (TOP n 0). */
  readonly oversize: 'skip' | 'headers';
  /** Fetch every message, delivered before or not (a one-off migration). */
  readonly fetchAll: boolean;
}

export interface ServerMessage {
  readonly number: number;
  readonly uid: string;
  readonly size: number;
}

export interface FetchItem {
  readonly message: ServerMessage;
  readonly headersOnly: boolean;
  /** Send DELE once it is delivered and recorded. */
  readonly deleteAfter: boolean;
}

export interface Plan {
  readonly fetch: readonly FetchItem[];
  readonly skip: readonly { readonly message: ServerMessage; readonly reason: string }[];
  /** Delivered in an earlier run and now due for deletion. */
  readonly delete: readonly ServerMessage[];
}

const DAY_MS = 86_400_000;

/**
 * Decides, from the server's listing, the state and the policy, which messages to
 * download and which to delete. Pure, so every policy can be tested without a server.
 * A message is never deleted unless the state says it was delivered whole.
 */
export function planFetch(messages: readonly ServerMessage[], state: Pick<AccountState, 'get'>, policy: FetchPolicy, now: Date): Plan {
  const fetch: FetchItem[] = [];
  const skip: { message: ServerMessage; reason: string }[] = [];
  const remove: ServerMessage[] = [];
  const due = (firstSeen: number): boolean => policy.deleteAfterDays !== undefined && now.getTime() - firstSeen >= policy.deleteAfterDays * DAY_MS;
  for (const message of messages) {
    const record = state.get(message.uid);
    if (record?.delivered !== undefined && !policy.fetchAll) {
      // A header-only copy is all we have: the server keeps the only full one.
      if (!record.headersOnly && (!policy.keep || due(record.firstSeen))) remove.push(message);
      continue;
    }
    const oversize = policy.maxSize !== undefined && message.size > policy.maxSize;
    if (oversize && policy.oversize === 'skip') {
      skip.push({ message, reason: `${message.size} octets, over the limit of ${policy.maxSize}` });
      continue;
    }
    const firstSeen = record?.firstSeen ?? now.getTime();
    fetch.push({ message, headersOnly: oversize, deleteAfter: !oversize && (!policy.keep || due(firstSeen)) });
  }
  return { fetch, skip, delete: remove };
}
