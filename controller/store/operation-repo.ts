/** The operation journal in SQLite. Callers wrap writes in a transaction. */
import type { OperationKindName, OperationRecord, OperationStateName, StepRecord } from "../model/records.js";
import type { Db } from "./database.js";
import { parseJson, toJson } from "./json-column.js";

interface OperationRow {
  seq: number;
  id: string;
  kind: OperationKindName;
  aggregate_id: number | null;
  host: string | null;
  state: OperationStateName;
  progress: number;
  steps: string;
  params: string;
  error: string | null;
  evacuation: string | null;
  cancel_requested: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

const hydrate = (r: OperationRow): OperationRecord => ({
  seq: r.seq,
  id: r.id,
  kind: r.kind,
  aggregateId: r.aggregate_id,
  host: r.host,
  state: r.state,
  progress: r.progress,
  steps: parseJson(r.steps, []),
  params: parseJson(r.params, {}),
  error: parseJson(r.error, null),
  evacuation: parseJson(r.evacuation, null),
  cancelRequested: r.cancel_requested === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

/** A new operation to record. */
export interface NewOperation {
  id: string;
  kind: OperationKindName;
  aggregateId: number | null;
  host: string | null;
  steps: StepRecord[];
  params: Record<string, unknown>;
}

/** Data access for operations. */
export class OperationRepo {
  constructor(private readonly db: Db) {}

  /** One operation, or undefined. */
  get(id: string): OperationRecord | undefined {
    const row = this.db.prepare("SELECT * FROM operations WHERE id = ?").get(id) as OperationRow | undefined;
    return row ? hydrate(row) : undefined;
  }

  /** Records a PENDING operation. */
  insert(op: NewOperation, now: string): OperationRecord {
    this.db
      .prepare(
        `INSERT INTO operations (id, kind, aggregate_id, host, state, steps, params, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'PENDING', ?, ?, ?, ?)`,
      )
      .run(op.id, op.kind, op.aggregateId, op.host, JSON.stringify(op.steps), JSON.stringify(op.params), now, now);
    return this.get(op.id)!;
  }

  /** Saves the mutable fields of an operation. A cancellation request, once recorded, is never cleared. */
  save(op: OperationRecord, now: string): void {
    this.db
      .prepare(
        `UPDATE operations SET state = ?, progress = ?, steps = ?, params = ?, error = ?, evacuation = ?, cancel_requested = MAX(cancel_requested, ?),
           updated_at = ?, finished_at = ? WHERE id = ?`,
      )
      .run(
        op.state,
        op.progress,
        JSON.stringify(op.steps),
        JSON.stringify(op.params),
        toJson(op.error),
        toJson(op.evacuation),
        op.cancelRequested ? 1 : 0,
        now,
        op.finishedAt,
        op.id,
      );
  }

  /** Operations not yet ended, oldest first. */
  unfinished(): OperationRecord[] {
    return (this.db.prepare("SELECT * FROM operations WHERE state IN ('PENDING', 'RUNNING') ORDER BY seq").all() as OperationRow[]).map(hydrate);
  }

  /** A page of operations, newest first, with seq < beforeSeq. */
  list(filter: { aggregateId?: number; host?: string; state?: OperationStateName; beforeSeq: number; limit: number }): OperationRecord[] {
    const where = ["seq < @beforeSeq"];
    if (filter.aggregateId !== undefined) where.push("aggregate_id = @aggregateId");
    if (filter.host !== undefined) where.push("host = @host");
    if (filter.state !== undefined) where.push("state = @state");
    const rows = this.db
      .prepare(`SELECT * FROM operations WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT @limit`)
      .all(filter) as OperationRow[];
    return rows.map(hydrate);
  }
}
