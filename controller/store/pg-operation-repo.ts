/** The operation journal in PostgreSQL. Callers wrap writes in a transaction. */
import type { OperationKindName, OperationOf, OperationRecord, OperationStateName } from "../model/records.js";
import type { OperationRepoHooks } from "./operation-repo.js";
import type { PgSession } from "./pg-session.js";
import { hydrateOperation, operationSaveValues, type OperationRow } from "./rows.js";
import type { NewOperation } from "./store.js";

/** What the repo tells the store about its writes (as the SQLite repo does, awaited). */
export type PgOperationRepoHooks = Omit<OperationRepoHooks, "aggregateTouched" | "requireTransaction"> & { aggregateTouched(id: number | null): Promise<void> };

const unfinished = "state IN ('PENDING', 'RUNNING')";

/** Data access for operations. */
export class PgOperationRepo {
  constructor(
    private readonly db: PgSession,
    private readonly hooks: PgOperationRepoHooks,
  ) {}

  /** One operation, or undefined. */
  async get(id: string): Promise<OperationRecord | undefined> {
    const [row] = await this.db.rows<OperationRow>("SELECT * FROM operations WHERE id = $1", [id]);
    return row ? hydrateOperation(row) : undefined;
  }

  /** Records a PENDING operation. */
  async insert<K extends OperationKindName>(op: NewOperation<K>, now: string): Promise<OperationOf<K>> {
    this.db.requireTransaction();
    const [row] = await this.db.rows<OperationRow>(
      `INSERT INTO operations (id, kind, aggregate_id, host, state, steps, params, created_at, updated_at)
       VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $7) RETURNING *`,
      [op.id, op.kind, op.aggregateId, op.host, JSON.stringify(op.steps), JSON.stringify(op.params), now],
    );
    await this.hooks.aggregateTouched(op.aggregateId);
    this.hooks.operationChanged(op.id);
    return hydrateOperation(row!) as OperationOf<K>;
  }

  /** Saves the mutable fields of an operation. A cancellation request, once recorded, is never cleared. */
  async save(op: OperationRecord, now: string): Promise<void> {
    this.db.requireTransaction();
    await this.db.run(
      `UPDATE operations SET state = $1, progress = $2, steps = $3, params = $4, error = $5, evacuation = $6,
         cancel_requested = GREATEST(cancel_requested, $7), updated_at = $8, finished_at = $9 WHERE id = $10`,
      [...operationSaveValues(op), now, op.finishedAt, op.id],
    );
    await this.hooks.aggregateTouched(op.aggregateId);
    this.hooks.operationChanged(op.id);
  }

  /** Operations not yet ended (of one aggregate, or all), oldest first. */
  async unfinished(aggregateId?: number): Promise<OperationRecord[]> {
    const rows =
      aggregateId === undefined
        ? await this.db.rows<OperationRow>(`SELECT * FROM operations WHERE ${unfinished} ORDER BY seq`)
        : await this.db.rows<OperationRow>(`SELECT * FROM operations WHERE ${unfinished} AND aggregate_id = $1 ORDER BY seq`, [aggregateId]);
    return rows.map(hydrateOperation);
  }

  /** Kinds of an aggregate's operations not yet ended. */
  async unfinishedKinds(aggregateId: number): Promise<OperationKindName[]> {
    const rows = await this.db.rows<{ kind: OperationKindName }>(`SELECT kind FROM operations WHERE aggregate_id = $1 AND ${unfinished}`, [aggregateId]);
    return rows.map((r) => r.kind);
  }

  /** A page of operations, newest first, with seq < beforeSeq. */
  async list(filter: { aggregateId?: number; host?: string; state?: OperationStateName; beforeSeq: number; limit: number }): Promise<OperationRecord[]> {
    const params: unknown[] = [filter.beforeSeq];
    const where = ["seq < $1"];
    const and = (column: string, value: unknown) => where.push(`${column} = $${params.push(value)}`);
    if (filter.aggregateId !== undefined) and("aggregate_id", filter.aggregateId);
    if (filter.host !== undefined) and("host", filter.host);
    if (filter.state !== undefined) and("state", filter.state);
    const limit = params.push(filter.limit);
    return (await this.db.rows<OperationRow>(`SELECT * FROM operations WHERE ${where.join(" AND ")} ORDER BY seq DESC LIMIT $${limit}`, params)).map(hydrateOperation);
  }
}
