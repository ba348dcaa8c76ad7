import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { maildropCounts } from '../store/maildir/usage.js';
import type { EventBus } from '../events/bus.js';
import type { Metrics } from './metrics.js';

/** How long a walk of the mail root is reused: scrapes come every few seconds. */
const CACHE_MS = 15_000;

/**
 * postel_messages_stored and postel_storage_bytes for the Maildir store, computed when
 * scraped from file names (S= sizes) under the mail root: again after a delivery or deletion
 * in this process, else at most every 15 seconds (other processes deliver too).
 */
export function watchMaildirUsage(metrics: Metrics, mailRoot: string, events: EventBus, store = 'maildir'): void {
  let cached: { at: number; messages: number; bytes: number } | undefined;
  events.subscribe((event) => {
    if (event.type === 'message.new' || event.type === 'message.deleted') cached = undefined;
  }, ['message.new', 'message.deleted']);
  let running: Promise<{ messages: number; bytes: number }> | undefined;
  const measure = async (): Promise<{ messages: number; bytes: number }> => {
    if (cached && Date.now() - cached.at < CACHE_MS) return cached;
    running ??= walk(mailRoot).finally(() => (running = undefined));
    const result = await running;
    cached = { at: Date.now(), ...result };
    return result;
  };
  metrics.storeUsage = async () => ({ store, ...(await measure()) });
}

async function walk(mailRoot: string): Promise<{ messages: number; bytes: number }> {
  let users: string[];
  try {
    users = await readdir(mailRoot);
  } catch {
    return { messages: 0, bytes: 0 };
  }
  let messages = 0;
  let bytes = 0;
  for (const user of users) {
    if (user.startsWith('.')) continue;
    const usage = await maildropCounts(join(mailRoot, user)).catch(() => ({ messages: 0, bytes: 0 }));
    messages += usage.messages;
    bytes += usage.bytes;
  }
  return { messages, bytes };
}
