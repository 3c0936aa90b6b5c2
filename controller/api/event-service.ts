/** EventService handlers: reads → convert. */
import type { ServiceImpl } from "@connectrpc/connect";
import { EventService } from "../../gen/hostaggregates/v1/event_pb.js";
import type { ControllerContext } from "../context.js";
import { assertValid } from "../intake/lookups.js";
import { pageOf } from "../model/paging.js";
import type { EventRecord } from "../model/records.js";
import { checkPageSize, violations } from "../model/validation.js";
import { eventMessage } from "./convert.js";

/** Handlers of EventService. */
export function eventService(ctx: ControllerContext): ServiceImpl<typeof EventService> {
  const { store } = ctx;
  const aggregateFilter = (id: bigint) => {
    if (id < 0n) assertValid([{ field: "aggregate_id", description: "aggregate_id must not be negative" }]);
    return id === 0n ? undefined : Number(id);
  };
  return {
    async listEvents(req) {
      assertValid(violations(checkPageSize(req.pageSize)));
      const aggregateId = aggregateFilter(req.aggregateId);
      const page = await pageOf<EventRecord, number>(
        { pageSize: req.pageSize, pageToken: req.pageToken, filter: `a=${req.aggregateId}` },
        "number",
        async (before, limit) => await store.events.list({ aggregateId, beforeId: before ?? Number.MAX_SAFE_INTEGER, limit }),
        (e) => e.id,
      );
      return { events: page.items.map(eventMessage), nextPageToken: page.nextPageToken };
    },
    async *watchEvents(req, call) {
      const aggregateId = aggregateFilter(req.aggregateId);
      let after = req.afterId > 0n ? Number(req.afterId) : await store.events.lastId();
      while (!call.signal.aborted) {
        const fresh = await store.events.since(after, aggregateId);
        for (const e of fresh) {
          after = e.id;
          yield eventMessage(e);
        }
        if (fresh.length === 0) await store.changes.next(undefined, 1000, call.signal);
      }
    },
  };
}
