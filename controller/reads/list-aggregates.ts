/** ListAggregates: a page of aggregates, optionally of one zone (shared by gRPC and REST). */
import { assertValid } from "../intake/lookups.js";
import { pageOf } from "../model/paging.js";
import type { AggregateRecord } from "../model/records.js";
import { checkAvailabilityZone, checkPageSize, violations } from "../model/validation.js";
import type { Store } from "../store/store.js";

/** A page of aggregates ordered by id. */
export async function listAggregates(store: Store, input: { availabilityZone: string; pageSize: number; pageToken: string }): Promise<{ aggregates: AggregateRecord[]; nextPageToken: string }> {
  assertValid(violations(checkPageSize(input.pageSize), input.availabilityZone !== "" ? checkAvailabilityZone(input.availabilityZone) : undefined));
  const availabilityZone = input.availabilityZone === "" ? undefined : input.availabilityZone;
  const page = await pageOf<AggregateRecord, number>(
    { ...input, filter: `az=${input.availabilityZone}` },
    "number",
    async (afterId, limit) => await store.aggregates.list({ availabilityZone, afterId: afterId ?? 0, limit }),
    (a) => a.id,
  );
  return { aggregates: page.items, nextPageToken: page.nextPageToken };
}
