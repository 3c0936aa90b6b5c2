/** CreateAggregate: validate, insert (a duplicate name is refused by the insert) — one transaction. */
import { alreadyExists } from "../../shared/errors.js";
import { nowIso, type AggregateRecord } from "../model/records.js";
import { checkAggregateName, checkAvailabilityZone, violations } from "../model/validation.js";
import type { Store } from "../store/store.js";
import { assertValid } from "./lookups.js";

/** Creates an aggregate. */
export async function createAggregate(store: Store, input: { name: string; availabilityZone?: string; validateOnly?: boolean }): Promise<AggregateRecord> {
  assertValid(
    violations(
      checkAggregateName(input.name),
      input.availabilityZone !== undefined ? checkAvailabilityZone(input.availabilityZone) : undefined,
    ),
  );
  return await store.transaction(async () => {
    const taken = () => alreadyExists(`an aggregate named "${input.name}" already exists`);
    if (input.validateOnly) {
      if (await store.aggregates.idByName(input.name) !== undefined) throw taken();
      const now = nowIso();
      return {
        id: 0, uuid: "", name: input.name, availabilityZone: input.availabilityZone ?? null, azFromHost: false, poolState: "EMPTY",
        masterHost: null, poolUuid: null, lastError: null, drift: [], lostVms: [], checkedAt: null, createdAt: now, updatedAt: now,
        metadata: {}, members: [],
      } satisfies AggregateRecord;
    }
    const id = await store.aggregates.insert(input.name, input.availabilityZone ?? null, nowIso());
    // The name's uniqueness is the table's: a taken name makes the insert refuse, with no look-up first.
    if (id === undefined) throw taken();
    return (await store.aggregates.get(id))!;
  });
}

