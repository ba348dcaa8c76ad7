import type { Sql, TransactionSql } from 'postgres';
import type { Logger } from '../../log/logger.js';

/**
 * The RFC 1939 exclusive maildrop lock across nodes: a row in `leases` with an expiry and a
 * fencing token. A session renews it while it lives; a node that dies stops renewing and
 * another node may take the lease once it has expired, getting a new token. Every change a
 * session makes is checked against its token in the same transaction (`holdsIn`), so a
 * session that lost its lease changes nothing. Rows, not session advisory locks: nothing is
 * pinned to one connection, which is what lets transaction-mode poolers sit in between.
 */
export class Lease {
  private renewTimer: NodeJS.Timeout | undefined;
  private released = false;

  private constructor(
    private readonly sql: Sql,
    readonly user: string,
    readonly token: bigint,
    private readonly seconds: number,
    private readonly logger: Logger,
  ) {}

  /** The lease, or null when a live one is held by another session. */
  static async acquire(sql: Sql, user: string, holder: string, seconds: number, logger: Logger): Promise<Lease | null> {
    const rows = await sql<{ token: string }[]>`
      INSERT INTO leases (user_name, token, holder, expires_at)
      VALUES (${user}, nextval('lease_tokens'), ${holder}, clock_timestamp() + make_interval(secs => ${seconds}))
      ON CONFLICT (user_name) DO UPDATE
        SET token = EXCLUDED.token, holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
        WHERE leases.expires_at <= clock_timestamp()
      RETURNING token::text`;
    const row = rows[0];
    if (row === undefined) return null;
    const lease = new Lease(sql, user, BigInt(row.token), seconds, logger);
    lease.scheduleRenewal();
    return lease;
  }

  /**
   * Inside a transaction: locks the lease row and tells whether this session still holds it.
   * A node taking the lease over must update the row, so it waits for this transaction.
   */
  async holdsIn(tx: TransactionSql): Promise<boolean> {
    const rows = await tx`
      SELECT 1 FROM leases
      WHERE user_name = ${this.user} AND token = ${this.token.toString()} AND expires_at > clock_timestamp()
      FOR UPDATE`;
    return rows.length > 0;
  }

  /** Ends the lease inside the transaction that applies the session's changes. */
  async endIn(tx: TransactionSql): Promise<void> {
    this.stopRenewing();
    await tx`DELETE FROM leases WHERE user_name = ${this.user} AND token = ${this.token.toString()}`;
  }

  /** Gives the lease up; a lease already taken over is left to its new holder. */
  async release(): Promise<void> {
    this.stopRenewing();
    try {
      await this.sql`DELETE FROM leases WHERE user_name = ${this.user} AND token = ${this.token.toString()}`;
    } catch (err) {
      // Unreachable database: the lease expires by itself.
      this.logger.warn({ err, user: this.user }, 'could not release maildrop lease; it will expire');
    }
  }

  private stopRenewing(): void {
    this.released = true;
    clearTimeout(this.renewTimer);
  }

  private scheduleRenewal(): void {
    if (this.released) return;
    // A third of the lease: two renewals may fail (a database restart) before it runs out.
    this.renewTimer = setTimeout(() => void this.renew(), (this.seconds * 1000) / 3);
    this.renewTimer.unref();
  }

  private async renew(): Promise<void> {
    try {
      const rows = await this.sql`
        UPDATE leases SET expires_at = clock_timestamp() + make_interval(secs => ${this.seconds})
        WHERE user_name = ${this.user} AND token = ${this.token.toString()} AND expires_at > clock_timestamp()
        RETURNING 1`;
      if (rows.length === 0) {
        this.logger.warn({ user: this.user }, 'maildrop lease lost; the session will not be able to commit');
        this.released = true;
        return;
      }
    } catch (err) {
      this.logger.warn({ err, user: this.user }, 'could not renew maildrop lease');
    }
    this.scheduleRenewal();
  }
}
