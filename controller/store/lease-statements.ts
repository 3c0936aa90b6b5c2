/**
 * The lease statements, written once for every database (the dialect supplies parameters, the
 * database's clock and the row lock). Times are milliseconds on the database's clock, so that the
 * controllers' own clocks never decide who holds a lease.
 */
import type { SqlDialect } from "./sql-dialect.js";
import type { Lease } from "./store.js";

/** A row of aggregate_leases. */
export interface LeaseRow {
  aggregate_id: number;
  holder: string;
  epoch: number;
  expires_at_ms: number;
}

/** A lease from its row. */
export const hydrateLease = (r: LeaseRow): Lease => ({
  aggregateId: Number(r.aggregate_id),
  holder: r.holder,
  epoch: Number(r.epoch),
  expiresAt: new Date(Number(r.expires_at_ms)).toISOString(),
});

/** The statements of one dialect. */
export function leaseStatements(d: SqlDialect) {
  const p = d.param;
  const columns = "aggregate_id, holder, epoch, expires_at_ms";
  return {
    /** (aggregate id, holder, ttl ms) → the lease row when holder has it now, no row otherwise. */
    acquire: `INSERT INTO aggregate_leases (${columns}) VALUES (${p(1)}, ${p(2)}, 1, ${d.nowMs} + ${p(3)})
      ON CONFLICT (aggregate_id) DO UPDATE SET
        epoch = CASE WHEN aggregate_leases.holder = excluded.holder AND aggregate_leases.expires_at_ms > ${d.nowMs}
                THEN aggregate_leases.epoch ELSE aggregate_leases.epoch + 1 END,
        holder = excluded.holder,
        expires_at_ms = excluded.expires_at_ms
      WHERE aggregate_leases.holder = excluded.holder OR aggregate_leases.expires_at_ms <= ${d.nowMs}
      RETURNING ${columns}`,
    /** (holder, ttl ms, JSON array of aggregate ids) → the rows of those leases holder still had, each renewed (epoch kept). */
    renew: `UPDATE aggregate_leases SET expires_at_ms = ${d.nowMs} + ${p(2)}
      WHERE holder = ${p(1)} AND expires_at_ms > ${d.nowMs} AND aggregate_id IN (${d.integersOfJson(p(3))})
      RETURNING ${columns}`,
    /** Lapses every lease now (for a controller that knows every earlier holder is dead). */
    lapseAll: "UPDATE aggregate_leases SET expires_at_ms = 0 WHERE expires_at_ms > 0",
    /** (aggregate id, holder, epoch): lapses the lease now. */
    release: `UPDATE aggregate_leases SET expires_at_ms = 0 WHERE aggregate_id = ${p(1)} AND holder = ${p(2)} AND epoch = ${p(3)}`,
    /** (aggregate id) → the running lease row, if any. */
    current: `SELECT ${columns} FROM aggregate_leases WHERE aggregate_id = ${p(1)} AND expires_at_ms > ${d.nowMs}`,
    /** (aggregate id, holder, epoch) → a row when still held (and locked until the transaction ends). */
    holds: `SELECT aggregate_id FROM aggregate_leases
      WHERE aggregate_id = ${p(1)} AND holder = ${p(2)} AND epoch = ${p(3)} AND expires_at_ms > ${d.nowMs}${d.forShare}`,
  };
}
