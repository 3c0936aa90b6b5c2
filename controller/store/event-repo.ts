/** The event log in SQLite. */
import { nowIso, type EventRecord } from "../model/records.js";
import { statement, type Db } from "./database.js";
import { hydrateEvent, type EventRow } from "./rows.js";
import type { EventInput } from "./store.js";

/** Data access for events. */
export class EventRepo {
  constructor(
    private readonly db: Db,
    private readonly hooks: { requireTransaction(): void; eventsAppended(): void },
  ) {}

  /** Appends an event (in the caller's transaction) and announces it to WatchEvents streams. */
  append(input: EventInput): EventRecord {
    this.hooks.requireTransaction();
    const e = { time: nowIso(), kind: input.kind, message: input.message, aggregateId: input.aggregateId ?? null, host: input.host ?? null, operationId: input.operationId ?? null };
    this.hooks.eventsAppended();
    const id = Number(
      statement(this.db, "INSERT INTO events (time, kind, aggregate_id, host, operation_id, message) VALUES (?, ?, ?, ?, ?, ?)")
        .run(e.time, e.kind, e.aggregateId, e.host, e.operationId, e.message).lastInsertRowid,
    );
    return { ...e, id };
  }

  /** Events with id < beforeId, newest first. */
  list(filter: { aggregateId?: number; beforeId: number; limit: number }): EventRecord[] {
    const rows =
      filter.aggregateId !== undefined
        ? statement(this.db, "SELECT * FROM events WHERE aggregate_id = ? AND id < ? ORDER BY id DESC LIMIT ?").all(filter.aggregateId, filter.beforeId, filter.limit)
        : statement(this.db, "SELECT * FROM events WHERE id < ? ORDER BY id DESC LIMIT ?").all(filter.beforeId, filter.limit);
    return (rows as EventRow[]).map(hydrateEvent);
  }

  /** Events with id > afterId, oldest first. */
  since(afterId: number, aggregateId?: number): EventRecord[] {
    const rows =
      aggregateId !== undefined
        ? statement(this.db, "SELECT * FROM events WHERE id > ? AND aggregate_id = ? ORDER BY id LIMIT 1000").all(afterId, aggregateId)
        : statement(this.db, "SELECT * FROM events WHERE id > ? ORDER BY id LIMIT 1000").all(afterId);
    return (rows as EventRow[]).map(hydrateEvent);
  }

  /** The newest event id (0 when none). */
  lastId(): number {
    return (statement(this.db, "SELECT COALESCE(MAX(id), 0) AS id FROM events").get() as { id: number }).id;
  }
}
