/** Records for specs: an ACTIVE aggregate with one member, changed as a spec needs. */
import type { AggregateRecord } from "../../controller/model/records.js";

/** An aggregate record (id 7 unless changed) with master xs1, zone az-1 and one metadata key. */
export function aggregateRecord(changes: Partial<AggregateRecord> = {}): AggregateRecord {
  const id = changes.id ?? 7;
  return {
    id,
    uuid: `00000000-0000-4000-8000-${String(id).padStart(12, "0")}`,
    name: `agg-${id}`,
    availabilityZone: "az-1",
    azFromHost: false,
    poolState: "ACTIVE",
    masterHost: "xs1",
    poolUuid: "pool-1",
    lastError: null,
    drift: [],
    lostVms: [],
    checkedAt: null,
    createdAt: "2026-12-02T06:00:00.000Z",
    updatedAt: "2026-12-02T06:30:00.000Z",
    metadata: { tier: "gold" },
    members: [{ host: "xs1", state: "MEMBER" }],
    ...changes,
  };
}
