/** UpdateAggregate: rename and/or re-zone; every check passes before anything is written — one transaction. */
import { alreadyExists, failedPrecondition, invalidArgument } from "../../shared/errors.js";
import { nowIso, type AggregateRecord } from "../model/records.js";
import { checkAggregateName, checkAvailabilityZone, violations } from "../model/validation.js";
import type { Store } from "../store/store.js";
import { assertValid, requireAggregate } from "./lookups.js";

/** Hosts of an aggregate whose zone hint differs from a zone. */
async function hostsOutsideZone(store: Store, aggregateId: number, zone: string): Promise<string[]> {
  return (await store.hosts.members(aggregateId)).filter((h) => h.azHint && h.azHint !== zone).map((h) => `${h.name} (asks for "${h.azHint}")`);
}

/** Renames and/or re-zones an aggregate: every check passes before anything is written. */
export async function updateAggregate(store: Store, input: { id: number; name?: string; availabilityZone?: string }): Promise<AggregateRecord> {
  if (input.name === undefined && input.availabilityZone === undefined) {
    throw invalidArgument([{ field: "name", description: "set name, availability_zone or both" }]);
  }
  assertValid(
    violations(
      input.name !== undefined ? checkAggregateName(input.name) : undefined,
      input.availabilityZone !== undefined ? checkAvailabilityZone(input.availabilityZone) : undefined,
    ),
  );
  return await store.transaction(async () => {
    const current = await requireAggregate(store, input.id);
    if (input.name !== undefined && input.name !== current.name && await store.aggregates.idByName(input.name) !== undefined) {
      throw alreadyExists(`an aggregate named "${input.name}" already exists`);
    }
    if (input.availabilityZone !== undefined && input.availabilityZone !== current.availabilityZone) {
      const outside = await hostsOutsideZone(store, input.id, input.availabilityZone);
      if (outside.length > 0) {
        throw failedPrecondition(
          `cannot move aggregate ${input.id} to availability zone "${input.availabilityZone}": hosts ${outside.join(", ")}`,
        );
      }
    }
    await store.aggregates.update(input.id, { name: input.name, availabilityZone: input.availabilityZone }, nowIso());
    return (await store.aggregates.get(input.id))!;
  });
}

