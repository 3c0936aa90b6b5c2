/** The event log in PostgreSQL. */
import { nowIso, type EventRecord } from "../model/records.js";
import type { PgSession } from "./pg-session.js";
import { hydrateEvent, type EventRow } from "./rows.js";
import type { EventInput } from "./store.js";

/** Data access for events. */
export class PgEventRepo {
  constructor(
    private readonly db: PgSession,
    private readonly hooks: { eventsAppended(): void },
  ) {}

  /** Appends an event (in the caller's transaction) and announces it to WatchEvents streams once committed. */
  async append(input: EventInput): Promise<EventRecord> {
    this.db.requireTransaction();
    const e = { time: nowIso(), kind: input.kind, message: input.message, aggregateId: input.aggregateId ?? null, host: input.host ?? null, operationId: input.operationId ?? null };
    this.hooks.eventsAppended();
    const [row] = await this.db.rows<{ id: number }>(
      "INSERT INTO events (time, kind, aggregate_id, host, operation_id, message) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
      [e.time, e.kind, e.aggregateId, e.host, e.operationId, e.message],
    );
    return { ...e, id: row!.id };
  }

  /** Events with id < beforeId, newest first. */
  async list(filter: { aggregateId?: number; beforeId: number; limit: number }): Promise<EventRecord[]> {
    const rows =
      filter.aggregateId !== undefined
        ? await this.db.rows<EventRow>("SELECT * FROM events WHERE aggregate_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3", [filter.aggregateId, filter.beforeId, filter.limit])
        : await this.db.rows<EventRow>("SELECT * FROM events WHERE id < $1 ORDER BY id DESC LIMIT $2", [filter.beforeId, filter.limit]);
    return rows.map(hydrateEvent);
  }

  /** Events with id > afterId, oldest first. */
  async since(afterId: number, aggregateId?: number): Promise<EventRecord[]> {
    const rows =
      aggregateId !== undefined
        ? await this.db.rows<EventRow>("SELECT * FROM events WHERE id > $1 AND aggregate_id = $2 ORDER BY id LIMIT 1000", [afterId, aggregateId])
        : await this.db.rows<EventRow>("SELECT * FROM events WHERE id > $1 ORDER BY id LIMIT 1000", [afterId]);
    return rows.map(hydrateEvent);
  }

  /** The newest event id (0 when none). */
  async lastId(): Promise<number> {
    return (await this.db.rows<{ id: number }>("SELECT COALESCE(MAX(id), 0) AS id FROM events"))[0]!.id;
  }
}
