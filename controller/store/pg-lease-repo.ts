/**
 * Per-aggregate leases in PostgreSQL (lease-statements.ts). acquire, release and current run on
 * the pool, outside the store's transaction queue and its write lock, so that a renewal never waits
 * for other writes; holds locks the lease row (FOR SHARE) in the open transaction, so a takeover
 * waits until that transaction ended.
 */
import type { PgSession } from "./pg-session.js";
import { hydrateLease, leaseStatements, type LeaseRow } from "./lease-statements.js";
import { postgresDialect } from "./sql-dialect.js";
import type { Lease } from "./store.js";

const sql = leaseStatements(postgresDialect);

/** Data access for leases. */
export class PgLeaseRepo {
  constructor(
    /** Statements in the open transaction (holds). */
    private readonly db: PgSession,
    /** Statements on their own connection, outside any transaction; throws when called inside one. */
    private readonly alone: PgSession,
  ) {}

  /** Takes or renews the lease (LeaseStore.acquire). */
  async acquire(aggregateId: number, holder: string, ttlMs: number): Promise<Lease | undefined> {
    const [row] = await this.alone.rows<LeaseRow>(sql.acquire, [aggregateId, holder, Math.round(ttlMs)]);
    return row ? hydrateLease(row) : undefined;
  }

  /** Renews the leases holder still has (LeaseStore.renew). */
  async renew(holder: string, aggregateIds: readonly number[], ttlMs: number): Promise<Lease[]> {
    return (await this.alone.rows<LeaseRow>(sql.renew, [holder, Math.round(ttlMs), JSON.stringify(aggregateIds)])).map(hydrateLease);
  }

  /** Lapses every lease (LeaseStore.lapseAll). */
  async lapseAll(): Promise<void> {
    await this.alone.run(sql.lapseAll, []);
  }


  /** Gives the lease up (LeaseStore.release). */
  async release(lease: Pick<Lease, "aggregateId" | "holder" | "epoch">): Promise<void> {
    await this.alone.run(sql.release, [lease.aggregateId, lease.holder, lease.epoch]);
  }

  /** The running lease (LeaseStore.current). */
  async current(aggregateId: number): Promise<Lease | undefined> {
    const [row] = await this.db.rows<LeaseRow>(sql.current, [aggregateId]);
    return row ? hydrateLease(row) : undefined;
  }

  /** True when still held (LeaseStore.holds). */
  async holds(lease: Pick<Lease, "aggregateId" | "holder" | "epoch">): Promise<boolean> {
    this.db.requireTransaction();
    return (await this.db.rows(sql.holds, [lease.aggregateId, lease.holder, lease.epoch])).length > 0;
  }
}
