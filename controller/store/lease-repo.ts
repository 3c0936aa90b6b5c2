/** Per-aggregate leases in SQLite (lease-statements.ts; one process, so they matter little here). */
import type { Statement } from "better-sqlite3";
import type { Db } from "./database.js";
import { hydrateLease, leaseStatements, type LeaseRow } from "./lease-statements.js";
import { sqliteDialect } from "./sql-dialect.js";
import type { Lease } from "./store.js";

/** Data access for leases. */
export class LeaseRepo {
  private readonly statements: {
    acquire: Statement<unknown[], LeaseRow>;
    renew: Statement<unknown[], LeaseRow>;
    lapseAll: Statement;
    release: Statement;
    current: Statement<unknown[], LeaseRow>;
    holds: Statement;
  };

  constructor(
    private readonly db: Db,
    private readonly hooks: { requireTransaction(): void },
  ) {
    const sql = leaseStatements(sqliteDialect);
    this.statements = {
      acquire: db.prepare(sql.acquire),
      renew: db.prepare(sql.renew),
      lapseAll: db.prepare(sql.lapseAll),
      release: db.prepare(sql.release),
      current: db.prepare(sql.current),
      holds: db.prepare(sql.holds),
    };
  }

  /** Binds positional values to the statements' numbered parameters (?1, ?2, …: better-sqlite3 takes them as an object). */
  private static numbered(...values: unknown[]): Record<number, unknown> {
    return Object.fromEntries(values.map((v, i) => [i + 1, v]));
  }

  private outside(): void {
    if (this.db.inTransaction) throw new Error("lease calls run outside store transactions");
  }

  /** Takes or renews the lease (LeaseStore.acquire). */
  acquire(aggregateId: number, holder: string, ttlMs: number): Lease | undefined {
    this.outside();
    const row = this.statements.acquire.get(LeaseRepo.numbered(aggregateId, holder, Math.round(ttlMs)));
    return row ? hydrateLease(row) : undefined;
  }

  /** Renews the leases holder still has (LeaseStore.renew). */
  renew(holder: string, aggregateIds: readonly number[], ttlMs: number): Lease[] {
    this.outside();
    return this.statements.renew.all(LeaseRepo.numbered(holder, Math.round(ttlMs), JSON.stringify(aggregateIds))).map(hydrateLease);
  }

  /** Lapses every lease (LeaseStore.lapseAll). */
  lapseAll(): void {
    this.outside();
    this.statements.lapseAll.run();
  }


  /** Gives the lease up (LeaseStore.release). */
  release(lease: Pick<Lease, "aggregateId" | "holder" | "epoch">): void {
    this.outside();
    this.statements.release.run(LeaseRepo.numbered(lease.aggregateId, lease.holder, lease.epoch));
  }

  /** The running lease (LeaseStore.current). */
  current(aggregateId: number): Lease | undefined {
    const row = this.statements.current.get(LeaseRepo.numbered(aggregateId));
    return row ? hydrateLease(row) : undefined;
  }

  /** True when still held (LeaseStore.holds). */
  holds(lease: Pick<Lease, "aggregateId" | "holder" | "epoch">): boolean {
    this.hooks.requireTransaction();
    return this.statements.holds.get(LeaseRepo.numbered(lease.aggregateId, lease.holder, lease.epoch)) !== undefined;
  }
}
