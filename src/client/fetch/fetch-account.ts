import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LockBusyError, LockFile } from '../../fs/lock-file.js';
import { Pop3Client, type Pop3ClientOptions } from '../client.js';
import { createDestination, DeliveryError, type Destination } from '../deliver/index.js';
import { Pop3ClientError, Pop3ProtocolError, Pop3ServerError } from '../errors.js';
import { stateFileName, type AccountSettings } from './account.js';
import { logIn } from './auth.js';
import { crashPoint } from './crash-points.js';
import { AccountBusyError, PolicyError } from './errors.js';
import type { AccountResult, FetchEvent } from './events.js';
import { planFetch, type FetchItem, type ServerMessage } from './plan.js';
import { AccountState } from './state.js';

/** Downloads ahead of the message being delivered, when the server pipelines. */
const READ_AHEAD = 4;
/** After this many delivery failures in a row the destination is assumed broken. */
const MAX_CONSECUTIVE_FAILURES = 5;

export interface FetchOptions {
  /** Where state files live (created if missing). */
  readonly stateDir: string;
  readonly now?: () => Date;
  readonly onEvent?: (event: FetchEvent) => void;
  /** For tests: how to connect (defaults to Pop3Client.connect). */
  readonly connect?: (options: Pop3ClientOptions) => Promise<Pop3Client>;
  /** For tests: the destination (defaults to the account's). */
  readonly destination?: Destination;
  /**
   * Download nothing; record every message now on the server as delivered. For moving
   * from another fetcher (fetchmail, getmail) that already delivered what was left there.
   */
  readonly markSeen?: boolean;
}

interface Counters {
  messages: number;
  delivered: number;
  skipped: number;
  deleted: number;
  failed: number;
  failures: { uid: string; error: Error }[];
  bytes: number;
  loginDelaySeconds?: number;
}

/**
 * Fetches one account, exactly once per message:
 *
 *   1. take the account's lock; settle deliveries a crash left pending;
 *   2. connect, log in, list UIDL and LIST, plan by policy;
 *   3. per message: record "pending" (with the destination's recovery token), deliver
 *      (durable when it returns), record "delivered" (fsynced), and only then send DELE;
 *   4. QUIT, which commits the deletions.
 *
 * Killed at any point, the next run finds each message either recorded as delivered (and
 * deletes it if the policy says so) or not (and delivers it), never both. Never throws:
 * failures end up in the result.
 */
export async function fetchAccount(account: AccountSettings, options: FetchOptions): Promise<AccountResult> {
  const now = options.now ?? (() => new Date());
  const emit = options.onEvent ?? ((): void => undefined);
  const counters: Counters = { messages: 0, delivered: 0, skipped: 0, deleted: 0, failed: 0, failures: [], bytes: 0 };
  const result = (error?: unknown): AccountResult => ({
    account: account.name,
    ...counters,
    ...(error !== undefined ? { error: error instanceof Error ? error : new Error(String(error)) } : {}),
  });

  let lock: LockFile;
  try {
    await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
    // Two fetches of one account (cron and a daemon) must not interleave; a second one reports
    // the account busy. A lock left by a killed fetch on this host is taken over at once; one
    // from another host is judged by nobody but a person.
    lock = await LockFile.acquire({ path: join(options.stateDir, `${stateFileName(account.name)}.lock`) }).catch((err: unknown) => {
      if (!(err instanceof LockBusyError)) throw err;
      throw new AccountBusyError(account.name, err.holder === undefined ? 'unknown holder' : `pid ${err.holder.pid} on ${err.holder.host}`);
    });
  } catch (err) {
    return result(err);
  }
  try {
    const state = await AccountState.open(join(options.stateDir, `${stateFileName(account.name)}.state`), account.name);
    try {
      const destination = options.destination ?? createDestination(account.destination, { timeoutMs: account.timeoutMs });
      await recoverPending(state, destination, account.name, emit);
      await state.compact(now());
      const error = await session(account, state, destination, counters, { ...options, now, emit });
      return result(error);
    } finally {
      await state.close();
    }
  } catch (err) {
    return result(err);
  } finally {
    await lock.release();
  }
}

/** Deliveries that a crash interrupted: ask the destination whether they completed. */
async function recoverPending(state: AccountState, destination: Destination, name: string, emit: (e: FetchEvent) => void): Promise<void> {
  for (const { uid, token } of state.pending) {
    const outcome = await destination.recover(token);
    if (outcome === 'delivered') {
      await state.markDelivered(uid, new Date());
      continue;
    }
    if (outcome === 'unknown') {
      // Fetching it again may deliver it twice, but never loses it.
      emit({ type: 'warning', account: name, text: `a delivery of ${uid} was interrupted and cannot be checked at ${destination.description}; it will be delivered again (possibly twice)` });
    }
    await state.markAborted(uid);
  }
}

type SessionOptions = FetchOptions & { now: () => Date; emit: (e: FetchEvent) => void };

/** One POP3 session; returns the error that ended it early, if any. */
async function session(account: AccountSettings, state: AccountState, destination: Destination, counters: Counters, options: SessionOptions): Promise<unknown> {
  const { now, emit } = options;
  const connect = options.connect ?? ((o: Pop3ClientOptions) => Pop3Client.connect(o));
  let client: Pop3Client | undefined;
  let listed: Set<string> | undefined;
  try {
    client = await connect({
      host: account.host,
      port: account.port,
      tls: account.tls,
      tlsOptions: account.tlsOptions,
      allowPlaintext: account.allowPlaintext,
      timeoutMs: account.timeoutMs,
    });
    emit({ type: 'connected', account: account.name, secure: client.secure, server: `${account.host}:${account.port}` });
    await logIn(client, account.auth, account.user, await account.secret());
    counters.loginDelaySeconds = client.capabilities.loginDelaySeconds;

    const messages = await listMessages(client, account.name, emit);
    listed = new Set(messages.map((m) => m.uid));
    counters.messages = messages.length;
    if (options.markSeen) {
      await state.importDelivered(messages.filter((m) => !state.isDelivered(m.uid)).map((m) => m.uid), now());
      emit({ type: 'warning', account: account.name, text: `recorded ${messages.length} messages as delivered without downloading them (--mark-seen)` });
      await client.quit();
      return undefined;
    }
    const plan = planFetch(messages, state, account.policy, now());
    emit({ type: 'listed', account: account.name, messages: messages.length, toFetch: plan.fetch.length, bytes: plan.fetch.reduce((s, i) => s + i.message.size, 0), toDelete: plan.delete.length });
    for (const { message, reason } of plan.skip) {
      counters.skipped++;
      emit({ type: 'skipped', account: account.name, uid: message.uid, reason });
    }

    const deletions: Promise<boolean>[] = [];
    const dele = (n: number): void => {
      const c = client as Pop3Client;
      // Not awaited here: with pipelining, DELE's answer comes after the bodies already
      // requested, which are read only as the loop goes on.
      deletions.push(
        c.dele(n).then(
          () => true,
          (err: unknown) => {
            // Only the server's refusal of this one message is news: after a lost connection
            // every DELE fails, and the account's error says why.
            if (err instanceof Pop3ServerError) emit({ type: 'warning', account: account.name, text: `DELE ${n} failed: ${(err as Error).message}` });
            return false;
          },
        ),
      );
    };
    await fetchMessages(client, plan.fetch, state, destination, counters, account, { ...options, dele });
    for (const message of plan.delete) dele(message.number);
    const acknowledged = (await Promise.all(deletions)).filter(Boolean).length;
    if (deletions.length > 0) crashPoint('after-dele');
    await client.quit();
    crashPoint('after-quit');
    counters.deleted = acknowledged;
    if (acknowledged > 0) emit({ type: 'deleted', account: account.name, count: acknowledged });
    return undefined;
  } catch (err) {
    // No QUIT after a failure: the server commits nothing, and what was delivered is
    // recorded, so the next run deletes it then.
    client?.close();
    return err;
  } finally {
    await state.compact(now(), listed).catch((err: unknown) => emit({ type: 'warning', account: account.name, text: `could not rewrite the state file: ${(err as Error).message}` }));
  }
}

async function listMessages(client: Pop3Client, name: string, emit: (e: FetchEvent) => void): Promise<ServerMessage[]> {
  const [uidl, list] = await Promise.all([
    client.uidl().catch((err: unknown) => {
      if (err instanceof Pop3ServerError && err.code === undefined) throw new PolicyError(`the server does not support UIDL (${err.text}); postel fetch needs it to know which messages are new`);
      throw err;
    }),
    client.list(),
  ]);
  const sizes = new Map(list.map((e) => [e.number, e.size]));
  const seen = new Set<string>();
  const messages: ServerMessage[] = [];
  for (const { number, uid } of uidl) {
    const size = sizes.get(number);
    if (size === undefined) throw new Pop3ProtocolError(`message ${number} is in UIDL but not in LIST`);
    if (seen.has(uid)) {
      // Two messages with one id: we could not tell them apart later, so leave the second.
      emit({ type: 'warning', account: name, text: `the server lists UIDL ${uid} twice; message ${number} is left alone` });
      continue;
    }
    seen.add(uid);
    messages.push({ number, uid, size });
  }
  return messages;
}

async function fetchMessages(
  client: Pop3Client,
  items: readonly FetchItem[],
  state: AccountState,
  destination: Destination,
  counters: Counters,
  account: AccountSettings,
  options: SessionOptions & { dele: (n: number) => void },
): Promise<void> {
  const { now, emit } = options;
  const requests: (Promise<Readable> | undefined)[] = [];
  const request = (i: number): Promise<Readable> => {
    const item = items[i] as FetchItem;
    const p = item.headersOnly ? client.top(item.message.number, 0) : client.retr(item.message.number);
    p.catch(() => undefined);
    return p;
  };
  const ahead = client.pipelining ? READ_AHEAD : 0;
  let consecutiveFailures = 0;
  let index = 0;
  try {
    for (; index < items.length; index++) {
      for (let j = index; j <= Math.min(index + ahead, items.length - 1); j++) requests[j] ??= request(j);
      const item = items[index] as FetchItem;
      const { uid, size, number } = item.message;
      emit({ type: 'message-start', account: account.name, index: index + 1, total: items.length, uid, size, headersOnly: item.headersOnly });
      let body: Readable;
      try {
        body = await (requests[index] as Promise<Readable>);
      } catch (err) {
        // -ERR for one message (deleted by someone else meanwhile): go on with the rest.
        if (!(err instanceof Pop3ServerError)) throw err;
        counters.failed++;
        counters.failures.push({ uid, error: err });
        emit({ type: 'failed', account: account.name, uid, error: err });
        continue;
      }
      const outcome = await deliverOne(body, item, state, destination, account, now, emit);
      if (outcome === 'delivered') {
        consecutiveFailures = 0;
        counters.delivered++;
        counters.bytes += size;
        emit({ type: 'delivered', account: account.name, uid, size, headersOnly: item.headersOnly });
        if (item.deleteAfter) options.dele(number);
        continue;
      }
      counters.failed++;
      counters.failures.push({ uid, error: outcome });
      emit({ type: 'failed', account: account.name, uid, error: outcome });
      if (++consecutiveFailures >= MAX_CONSECUTIVE_FAILURES) {
        throw new DeliveryError(`${MAX_CONSECUTIVE_FAILURES} deliveries in a row failed at ${destination.description}; stopping (last: ${outcome.message})`, outcome.temporary);
      }
    }
  } finally {
    // Bodies requested ahead but not used: drop them (the client reads them to the end).
    for (let j = index + 1; j < requests.length; j++) void requests[j]?.then((s) => s.destroy(), () => undefined);
  }
}

/** Delivers one message; returns 'delivered' or the delivery error. Connection errors throw. */
async function deliverOne(
  body: Readable,
  item: FetchItem,
  state: AccountState,
  destination: Destination,
  account: AccountSettings,
  now: () => Date,
  emit: (e: FetchEvent) => void,
): Promise<'delivered' | DeliveryError> {
  const { uid, size } = item.message;
  let sourceError: unknown;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      emit({ type: 'bytes', account: account.name, bytes: chunk.length });
      done(null, chunk);
    },
  });
  // The destination has read the whole message but not finished storing it.
  meter.once('end', () => crashPoint('mid-deliver'));
  if (item.headersOnly) {
    meter.push(Buffer.from(`X-Postel-Fetch-Truncated: ${size} octets over the size limit; the full message stays on the server\r\n`, 'latin1'));
  }
  void pipeline(body, meter).catch((err: unknown) => {
    sourceError ??= err;
  });
  // A body requested ahead may have failed already, before this function got it.
  const sourceFailed = (): Pop3ClientError | undefined => {
    const err = body.errored ?? sourceError;
    return err instanceof Pop3ClientError ? err : undefined;
  };

  let delivery;
  try {
    delivery = await destination.begin({ account: account.name, uid, size });
  } catch (err) {
    meter.destroy();
    return asDeliveryError(err);
  }
  try {
    await state.markPending(uid, delivery.token, now());
  } catch (err) {
    // Without the pending record a crash could not be recovered from: do not deliver.
    await delivery.abort().catch(() => undefined);
    meter.destroy();
    throw err;
  }
  crashPoint('after-pending');
  try {
    await delivery.write(meter);
  } catch (err) {
    await delivery.abort().catch(() => undefined);
    await state.markAborted(uid);
    meter.destroy();
    const lost = sourceFailed();
    if (lost) throw lost;
    return asDeliveryError(err);
  }
  const lost = sourceFailed();
  if (lost) {
    // The destination accepted a stream that failed under it: it must not count.
    await state.markAborted(uid);
    throw lost;
  }
  crashPoint('after-deliver');
  await state.markDelivered(uid, now(), item.headersOnly);
  crashPoint('after-record');
  return 'delivered';
}

function asDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  return new DeliveryError((err as Error).message ?? String(err), true, { cause: err });
}
