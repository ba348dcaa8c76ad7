import type { MessageInfo } from '../types.js';
import { CHUNK_SIZE, type OpenedCopy } from './blobs.js';

/**
 * Octets of messages read ahead that all sessions of the process may hold at once. Past the
 * budget, RETRs are read when asked for, as without read-ahead.
 */
const BUDGET = 16 * 1024 * 1024;
/** One batch: at most this many messages and octets (two batches per session at most). */
const BATCH_MESSAGES = 32;
const BATCH_OCTETS = 512 * 1024;

let held = 0;

/** Reads the copies of these messages (row keys), in one query; a copy that is gone is absent. */
export type ReadCopies = (keys: readonly string[]) => Promise<ReadonlyMap<string, OpenedCopy>>;

interface Batch {
  readonly from: number;
  /** Exclusive. */
  readonly to: number;
  readonly octets: number;
  readonly copies: Promise<ReadonlyMap<string, OpenedCopy> | undefined>;
}

/**
 * Read-ahead for a session that downloads its maildrop in order, as mail clients do: while
 * one message is on the wire, the next ones are already on their way, several per query.
 * Each query is a round trip to the database and a wake-up of both processes, which on a
 * small message costs more than its bytes; so a batch grows (1, 2, 4, ... messages) while
 * the client keeps going in order, and the batch after the one the client is in is already
 * on its way. A jump elsewhere starts again at one. Only messages of one
 * chunk are read ahead (a bigger one streams through ChunkReader), and a session holds two
 * batches at most, each within BATCH_MESSAGES and BATCH_OCTETS.
 *
 * A message's row and bytes never change while it exists, and no other session may delete
 * it while this one holds the lease, so a copy read a moment early is the same.
 */
export class ReadAhead {
  private batches: Batch[] = [];
  private run = 1;
  private last = -2;

  constructor(
    private readonly messages: readonly MessageInfo[],
    private readonly keys: readonly string[],
    private readonly read: ReadCopies,
  ) {}

  /**
   * The copy of message `index` if it was read ahead (undefined when not, or when that read
   * failed: the caller reads it as asked); starts reading what comes after it.
   */
  async take(index: number): Promise<OpenedCopy | undefined> {
    const inOrder = index === this.last + 1;
    this.last = index;
    if (!inOrder) {
      this.drop();
      this.run = 1;
    }
    while (this.batches.length > 0 && (this.batches[0] as Batch).to <= index) this.release(this.batches.shift() as Batch);
    const batch = this.batches[0];
    let copy: OpenedCopy | undefined;
    if (batch !== undefined && batch.from <= index) {
      const copies = await batch.copies;
      copy = copies?.get(this.keys[index] as string);
      if (index === batch.from) this.run = Math.min(this.run * 2, BATCH_MESSAGES);
      if (index === batch.to - 1) this.release(this.batches.shift() as Batch);
    }
    this.fill(index + 1);
    return copy;
  }

  /** Lets go of everything read ahead. Safe to call more than once. */
  drop(): void {
    for (const batch of this.batches) this.release(batch);
    this.batches = [];
  }

  /** Keeps the batch holding `next`, and the one after it, on their way. */
  private fill(next: number): void {
    if (this.batches.length === 0) this.start(next);
    const first = this.batches[0];
    if (this.batches.length === 1 && first !== undefined) this.start(first.to);
  }

  private start(from: number): void {
    const batch = this.batch(from);
    if (batch !== undefined) this.batches.push(batch);
  }

  private batch(from: number): Batch | undefined {
    let to = from;
    let octets = 0;
    while (to < this.messages.length && to - from < this.run) {
      const size = (this.messages[to] as MessageInfo).size;
      // One chunk at most: the wire size is never below the stored size.
      if (size > CHUNK_SIZE || octets + size > BATCH_OCTETS || held + octets + size > BUDGET) break;
      octets += size;
      to++;
    }
    if (to === from) return undefined;
    held += octets;
    const copies = this.read(this.keys.slice(from, to)).catch(() => undefined);
    return { from, to, octets, copies };
  }

  private release(batch: Batch): void {
    held -= batch.octets;
  }
}
