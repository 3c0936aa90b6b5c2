/** The operation journal in SQLite. Callers wrap writes in a transaction. */
import type { OperationKindName, OperationOf, OperationRecord, OperationStateName } from "../model/records.js";
import { statement, type Db } from "./database.js";
import { hydrateOperation, operationSaveValues, type OperationRow } from "./rows.js";
import type { NewOperation } from "./store.js";

/** What the repo tells the store about its writes. */
export interface OperationRepoHooks {
  aggregateTouched(id: number | null): void;
  requireTransaction(): void;
  /** An operation was written (waiters re-read it once the transaction is over). */
  operationChanged(id: string): void;
}

/** Data access for operations. */
export class OperationRepo {
  constructor(
    private readonly db: Db,
    private readonly hooks: OperationRepoHooks,
  ) {}

  /** One operation, or undefined. */
  get(id: string): OperationRecord | undefined {
    const row = statement(this.db, "SELECT * FROM operations WHERE id = ?").get(id) as OperationRow | undefined;
    return row ? hydrateOperation(row) : undefined;
  }

  /** Records a PENDING operation. */
  insert<K extends OperationKindName>(op: NewOperation<K>, now: string): OperationOf<K> {
    this.hooks.requireTransaction();
    statement(
      this.db,
      `INSERT INTO operations (id, kind, aggregate_id, host, state, steps, params, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'PENDING', ?, ?, ?, ?)`,
    ).run(op.id, op.kind, op.aggregateId, op.host, JSON.stringify(op.steps), JSON.stringify(op.params), now, now);
    this.hooks.aggregateTouched(op.aggregateId);
    this.hooks.operationChanged(op.id);
    return this.get(op.id) as OperationOf<K>;
  }

  /** Saves the mutable fields of an operation. A cancellation request, once recorded, is never cleared. */
  save(op: OperationRecord, now: string): void {
    this.hooks.requireTransaction();
    statement(
      this.db,
      `UPDATE operations SET state = ?, progress = ?, steps = ?, params = ?, error = ?, evacuation = ?, cancel_requested = MAX(cancel_requested, ?),
         updated_at = ?, finished_at = ? WHERE id = ?`,
    ).run(...operationSaveValues(op), now, op.finishedAt, op.id);
    this.hooks.aggregateTouched(op.aggregateId);
    this.hooks.operationChanged(op.id);
  }

  /** Operations not yet ended (of one aggregate, or all), oldest first. */
  unfinished(aggregateId?: number): OperationRecord[] {
    const rows =
      aggregateId === undefined
        ? statement(this.db, "SELECT * FROM operations WHERE state IN ('PENDING', 'RUNNING') ORDER BY seq").all()
        : statement(this.db, "SELECT * FROM operations WHERE state IN ('PENDING', 'RUNNING') AND aggregate_id = ? ORDER BY seq").all(aggregateId);
    return (rows as OperationRow[]).map(hydrateOperation);
  }

  /** Kinds of an aggregate's operations not yet ended. */
  unfinishedKinds(aggregateId: number): OperationKindName[] {
    return statement(this.db, "SELECT kind FROM operations WHERE aggregate_id = ? AND state IN ('PENDING', 'RUNNING')")
      .pluck()
      .all(aggregateId) as OperationKindName[];
  }

  /** A page of operations, newest first, with seq < beforeSeq. */
  list(filter: { aggregateId?: number; host?: string; state?: OperationStateName; beforeSeq: number; limit: number }): OperationRecord[] {
    const where = ["seq < @beforeSeq"];
    if (filter.aggregateId !== undefined) where.push("aggregate_id = @aggregateId");
    if (filter.host !== undefined) where.push("host = @host");
    if (filter.state !== undefined) where.push("state = @state");
    const rows = statement(this.db, `SELECT * FROM operations WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT @limit`).all(filter) as OperationRow[];
    return rows.map(hydrateOperation);
  }
}
