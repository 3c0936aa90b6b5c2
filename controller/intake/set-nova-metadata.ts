/**
 * os-aggregates set_metadata: string values are set, null values delete their key; the
 * `availability_zone` key is the aggregate's zone, so it goes through UpdateAggregate's rules
 * (null or "" → 400). All of it in one transaction.
 */
import type { AggregateRecord } from "../model/records.js";
import type { Store } from "../store/store.js";
import { requireAggregate } from "./lookups.js";
import { setAggregateMetadata } from "./set-aggregate-metadata.js";
import { updateAggregate } from "./update-aggregate.js";

/** The metadata key Nova keeps the zone under; here it maps onto the aggregate's zone field. */
const zoneKey = "availability_zone";

/** Applies a Nova set_metadata body (key → value, or null to remove). */
export async function setNovaMetadata(store: Store, id: number, metadata: [string, string | null][]): Promise<AggregateRecord> {
  const zone = metadata.find(([key]) => key === zoneKey);
  const rest = metadata.filter(([key]) => key !== zoneKey);
  const set = Object.fromEntries(rest.filter((e): e is [string, string] => e[1] !== null));
  const remove = rest.filter(([, value]) => value === null).map(([key]) => key);
  return store.transaction(async () => {
    // Each step answers the aggregate as it left it: the last one's answer is the result.
    let after: AggregateRecord | undefined;
    if (zone) after = await updateAggregate(store, { id, availabilityZone: zone[1] ?? "" });
    if (rest.length > 0) after = await setAggregateMetadata(store, { id, set, remove });
    return after ?? (await requireAggregate(store, id));
  });
}
