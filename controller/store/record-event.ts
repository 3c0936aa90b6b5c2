/** Appends an event and wakes WatchEvents streams. */
import type { ControllerContext } from "../context.js";
import { nowIso } from "../model/records.js";

/** What an event says. */
export interface EventInput {
  kind: string;
  message: string;
  aggregateId?: number | null;
  host?: string | null;
  operationId?: string | null;
}

/** Appends an event (inside the caller's transaction, if any) and announces it. */
export function recordEvent(ctx: Pick<ControllerContext, "store" | "changes">, e: EventInput): void {
  ctx.store.events.append({
    time: nowIso(),
    kind: e.kind,
    message: e.message,
    aggregateId: e.aggregateId ?? null,
    host: e.host ?? null,
    operationId: e.operationId ?? null,
  });
  queueMicrotask(() => ctx.changes.eventsAppended());
}
