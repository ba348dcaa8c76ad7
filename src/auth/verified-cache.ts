import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Which password last verified for each user, so that a client logging in again and again
 * (every few minutes, as mail clients poll) does not pay for scrypt or SHA-crypt each time.
 *
 * What is kept is not the password but an HMAC of it under a key made at random when the
 * process starts and never stored, together with the stored hash it was checked against.
 * A lookup is a hit only while the users file still holds that exact hash: a changed
 * password, or a user removed or re-added, misses and is verified in full. Only successes
 * are remembered, and a wrong password is always checked against the real hash, so the
 * cache never decides that a login fails. It is bounded, least recently used first out.
 */
export class VerifiedPasswordCache {
  private readonly entries = new Map<string, { readonly stored: string; readonly mac: Buffer }>();

  /**
   * `key` is the HMAC key: random unless given, which lets processes that share it pass
   * entries to each other (POP3 workers, see adopt).
   */
  constructor(
    private readonly maxEntries: number,
    private readonly key: Buffer = randomBytes(32),
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** True when `password` is the one last verified for `user` against `stored`. */
  matches(user: string, stored: string, password: string): boolean {
    const entry = this.entries.get(user);
    if (entry === undefined) return false;
    if (entry.stored !== stored) {
      this.entries.delete(user);
      return false;
    }
    if (!timingSafeEqual(entry.mac, this.mac(user, password))) return false;
    // Most recently used goes last: Map keeps insertion order.
    this.entries.delete(user);
    this.entries.set(user, entry);
    return true;
  }

  /** Records a successful verification of `password` against `stored`; returns the HMAC kept. */
  remember(user: string, stored: string, password: string): Buffer {
    const mac = this.mac(user, password);
    this.adopt(user, stored, mac);
    return mac;
  }

  /** Takes an entry remembered by another process that shares the key. */
  adopt(user: string, stored: string, mac: Buffer): void {
    if (this.maxEntries <= 0 || mac.length !== 32) return;
    this.entries.delete(user);
    while (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(user, { stored, mac });
  }

  private mac(user: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(user, 'utf8').update('\0').update(password, 'utf8').digest();
  }
}
