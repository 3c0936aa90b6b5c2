/** Lookups and checks every request shares: field validation, and the records a request names. */
import { invalidArgument, notFound, type FieldViolation } from "../../shared/errors.js";
import type { AggregateRecord, HostRecord, OperationRecord } from "../model/records.js";
import { checkHostName, checkId, violations } from "../model/validation.js";
import type { Store } from "../store/store.js";

/** Throws INVALID_ARGUMENT when there are violations. */
export function assertValid(found: FieldViolation[]): void {
  if (found.length > 0) throw invalidArgument(found);
}

/** The aggregate with this id, or NOT_FOUND. */
export async function requireAggregate(store: Store, id: number): Promise<AggregateRecord> {
  const aggregate = await store.aggregates.get(id);
  if (!aggregate) throw notFound(`aggregate ${id} not found`);
  return aggregate;
}

/** The registered host with this name, or NOT_FOUND. */
export async function requireHost(store: Store, name: string): Promise<HostRecord> {
  const host = await store.hosts.get(name);
  if (!host) throw notFound(`host "${name}" is not registered (its agent has not called RegisterHost)`);
  return host;
}

/** Validates an id field and returns it as a number. */
export function idFrom(value: bigint, field = "id"): number {
  assertValid(violations(checkId(value, field)));
  return Number(value);
}

/** Validates the fields of AddHost/RemoveHost. */
export function validateHostRequest(aggregateId: bigint, host: string): number {
  assertValid(violations(checkId(aggregateId, "aggregate_id"), checkHostName(host)));
  return Number(aggregateId);
}

/** The operation with this id, or INVALID_ARGUMENT / NOT_FOUND. */
export async function requireOperation(store: Store, id: string): Promise<OperationRecord> {
  if (id === "" || id.length > 100) throw invalidArgument([{ field: "id", description: "operation id is required (at most 100 characters)" }]);
  const op = await store.operations.get(id);
  if (!op) throw notFound(`operation "${id}" not found`);
  return op;
}
