/** EventService handlers. */
import type { ServiceImpl } from "@connectrpc/connect";
import { EventService } from "../../gen/hostaggregates/v1/event_pb.js";
import { assertValid } from "../intake/aggregates.js";
import { decodePageToken, effectivePageSize, encodePageToken } from "../model/paging.js";
import { checkPageSize, violations } from "../model/validation.js";
import { eventMessage } from "./convert.js";
import type { ControllerContext } from "../context.js";

/** Handlers of EventService over the controller context. */
export function eventService(ctx: ControllerContext): ServiceImpl<typeof EventService> {
  const { store, changes } = ctx;
  const aggregateFilter = (id: bigint) => {
    if (id < 0n) assertValid([{ field: "aggregate_id", description: "aggregate_id must not be negative" }]);
    return id === 0n ? undefined : Number(id);
  };
  return {
    listEvents(req) {
      assertValid(violations(checkPageSize(req.pageSize)));
      const aggregateId = aggregateFilter(req.aggregateId);
      const filter = `a=${req.aggregateId}`;
      const before = decodePageToken<number>(req.pageToken, filter, "number") ?? Number.MAX_SAFE_INTEGER;
      const limit = effectivePageSize(req.pageSize);
      const page = store.events.list({ aggregateId, beforeId: before, limit: limit + 1 });
      const more = page.length > limit;
      const events = more ? page.slice(0, limit) : page;
      return { events: events.map(eventMessage), nextPageToken: more ? encodePageToken(events.at(-1)!.id, filter) : "" };
    },
    async *watchEvents(req, call) {
      const aggregateId = aggregateFilter(req.aggregateId);
      let after = req.afterId > 0n ? Number(req.afterId) : store.events.lastId();
      while (!call.signal.aborted) {
        const fresh = store.events.since(after, aggregateId);
        for (const e of fresh) {
          after = e.id;
          yield eventMessage(e);
        }
        if (fresh.length === 0) await changes.next(undefined, 1000, call.signal);
      }
    },
  };
}
