/** Aggregate rules: create, read, update, metadata, delete, and the checks AddHost/RemoveHost share. */
import { SqliteError } from "better-sqlite3";
import { alreadyExists, failedPrecondition, invalidArgument, notFound, type FieldViolation } from "../../shared/errors.js";
import type { Store } from "../store/store.js";
import { decodePageToken, effectivePageSize, encodePageToken } from "../model/paging.js";
import { nowIso, type AggregateRecord, type HostRecord } from "../model/records.js";
import {
  checkAggregateName,
  checkAvailabilityZone,
  checkHostName,
  checkId,
  checkMetadataKey,
  checkMetadataValue,
  checkPageSize,
  maxMetadataKeys,
  violations,
} from "../model/validation.js";

/** Throws INVALID_ARGUMENT when there are violations. */
export function assertValid(found: FieldViolation[]): void {
  if (found.length > 0) throw invalidArgument(found);
}

const isUniqueViolation = (err: unknown) => err instanceof SqliteError && err.code.startsWith("SQLITE_CONSTRAINT");

/** The aggregate with this id, or NOT_FOUND. */
export function requireAggregate(store: Store, id: number): AggregateRecord {
  const aggregate = store.aggregates.get(id);
  if (!aggregate) throw notFound(`aggregate ${id} not found`);
  return aggregate;
}

/** The registered host with this name, or NOT_FOUND. */
export function requireHost(store: Store, name: string): HostRecord {
  const host = store.hosts.get(name);
  if (!host) throw notFound(`host "${name}" is not registered (its agent has not called RegisterHost)`);
  return host;
}

/** Validates an id field and returns it as a number. */
export function idFrom(value: bigint, field = "id"): number {
  assertValid(violations(checkId(value, field)));
  return Number(value);
}

/** Creates an aggregate. */
export function createAggregate(store: Store, input: { name: string; availabilityZone?: string; validateOnly?: boolean }): AggregateRecord {
  assertValid(
    violations(
      checkAggregateName(input.name),
      input.availabilityZone !== undefined ? checkAvailabilityZone(input.availabilityZone) : undefined,
    ),
  );
  return store.transaction(() => {
    if (store.aggregates.idByName(input.name) !== undefined) throw alreadyExists(`an aggregate named "${input.name}" already exists`);
    if (input.validateOnly) {
      const now = nowIso();
      return {
        id: 0, uuid: "", name: input.name, availabilityZone: input.availabilityZone ?? null, azFromHost: false, poolState: "EMPTY",
        masterHost: null, poolUuid: null, lastError: null, drift: [], lostVms: [], checkedAt: null, createdAt: now, updatedAt: now,
        metadata: {}, members: [],
      } satisfies AggregateRecord;
    }
    try {
      const id = store.aggregates.insert(input.name, input.availabilityZone ?? null, nowIso());
      return store.aggregates.get(id)!;
    } catch (err) {
      if (isUniqueViolation(err)) throw alreadyExists(`an aggregate named "${input.name}" already exists`);
      throw err;
    }
  });
}

/** A page of aggregates. */
export function listAggregates(
  store: Store,
  input: { availabilityZone: string; pageSize: number; pageToken: string },
): { aggregates: AggregateRecord[]; nextPageToken: string } {
  assertValid(violations(checkPageSize(input.pageSize), input.availabilityZone !== "" ? checkAvailabilityZone(input.availabilityZone) : undefined));
  const filter = `az=${input.availabilityZone}`;
  const afterId = decodePageToken<number>(input.pageToken, filter, "number") ?? 0;
  const limit = effectivePageSize(input.pageSize);
  const page = store.aggregates.list({
    availabilityZone: input.availabilityZone === "" ? undefined : input.availabilityZone,
    afterId,
    limit: limit + 1,
  });
  const more = page.length > limit;
  const aggregates = more ? page.slice(0, limit) : page;
  return { aggregates, nextPageToken: more ? encodePageToken(aggregates.at(-1)!.id, filter) : "" };
}

/** Hosts of an aggregate whose zone hint differs from a zone. */
function hostsOutsideZone(store: Store, aggregateId: number, zone: string): string[] {
  return store.hosts.members(aggregateId).filter((h) => h.azHint && h.azHint !== zone).map((h) => `${h.name} (asks for "${h.azHint}")`);
}

/** Renames and/or re-zones an aggregate: every check passes before anything is written. */
export function updateAggregate(store: Store, input: { id: number; name?: string; availabilityZone?: string }): AggregateRecord {
  if (input.name === undefined && input.availabilityZone === undefined) {
    throw invalidArgument([{ field: "name", description: "set name, availability_zone or both" }]);
  }
  assertValid(
    violations(
      input.name !== undefined ? checkAggregateName(input.name) : undefined,
      input.availabilityZone !== undefined ? checkAvailabilityZone(input.availabilityZone) : undefined,
    ),
  );
  return store.transaction(() => {
    const current = requireAggregate(store, input.id);
    if (input.name !== undefined && input.name !== current.name && store.aggregates.idByName(input.name) !== undefined) {
      throw alreadyExists(`an aggregate named "${input.name}" already exists`);
    }
    if (input.availabilityZone !== undefined && input.availabilityZone !== current.availabilityZone) {
      const outside = hostsOutsideZone(store, input.id, input.availabilityZone);
      if (outside.length > 0) {
        throw failedPrecondition(
          `cannot move aggregate ${input.id} to availability zone "${input.availabilityZone}": hosts ${outside.join(", ")}`,
        );
      }
    }
    store.aggregates.update(input.id, { name: input.name, availabilityZone: input.availabilityZone }, nowIso());
    return store.aggregates.get(input.id)!;
  });
}

/** Sets and removes metadata keys atomically. */
export function setAggregateMetadata(store: Store, input: { id: number; set: Record<string, string>; remove: string[] }): AggregateRecord {
  const found: FieldViolation[] = [];
  for (const [key, value] of Object.entries(input.set)) {
    const field = `metadata[${JSON.stringify(key)}]`;
    found.push(...violations(checkMetadataKey(key, field), checkMetadataValue(value, field)));
  }
  input.remove.forEach((key, i) => {
    const v = checkMetadataKey(key, `remove_keys[${i}]`);
    if (v) found.push(v);
    if (Object.hasOwn(input.set, key)) found.push({ field: `remove_keys[${i}]`, description: `key "${key}" is both set and removed` });
  });
  const lowered = new Map<string, string>();
  for (const key of Object.keys(input.set)) {
    const other = lowered.get(key.toLowerCase());
    if (other !== undefined) found.push({ field: `metadata[${JSON.stringify(key)}]`, description: `key "${key}" differs from key "${other}" only in case` });
    lowered.set(key.toLowerCase(), key);
  }
  if (Object.keys(input.set).length + input.remove.length === 0) {
    found.push({ field: "metadata", description: "set at least one key or remove_keys entry" });
  }
  assertValid(found);
  return store.transaction(() => {
    const current = requireAggregate(store, input.id);
    const removing = new Set(input.remove);
    const remaining = Object.keys(current.metadata).filter((k) => !removing.has(k));
    const byLower = new Map(remaining.map((k) => [k.toLowerCase(), k]));
    for (const key of Object.keys(input.set)) {
      const existing = byLower.get(key.toLowerCase());
      if (existing !== undefined && existing !== key) {
        throw alreadyExists(`metadata key "${key}" clashes with existing key "${existing}" (keys are case-insensitive)`);
      }
    }
    const total = new Set([...remaining, ...Object.keys(input.set)]).size;
    if (total > maxMetadataKeys) throw failedPrecondition(`an aggregate holds at most ${maxMetadataKeys} metadata keys (this change would make ${total})`);
    store.aggregates.setMetadata(input.id, input.set, input.remove, nowIso());
    return store.aggregates.get(input.id)!;
  });
}

/** Deletes an empty aggregate. */
export function deleteAggregate(store: Store, id: number): void {
  store.transaction(() => {
    const current = requireAggregate(store, id);
    if (current.members.length > 0) {
      throw failedPrecondition(
        `aggregate ${id} is not empty: it still has host(s) ${current.members.map((m) => m.host).join(", ")}; remove them first`,
      );
    }
    const active = store.operations.list({ aggregateId: id, state: "RUNNING", beforeSeq: Number.MAX_SAFE_INTEGER, limit: 1 });
    if (active.length > 0) throw failedPrecondition(`aggregate ${id} has a running operation ${active[0]!.id}`);
    store.aggregates.delete(id);
  });
}

/** Checks an AddHost request against the store (inside the caller's transaction). */
export function checkAddHost(store: Store, aggregateId: number, hostName: string): { aggregate: AggregateRecord; host: HostRecord } {
  const aggregate = requireAggregate(store, aggregateId);
  const host = requireHost(store, hostName);
  if (host.aggregateId === aggregateId) throw alreadyExists(`host "${hostName}" is already in aggregate ${aggregateId}`);
  if (host.aggregateId !== null) throw alreadyExists(`host "${hostName}" is already in aggregate ${host.aggregateId}; a host can be in one aggregate only`);
  if (aggregate.availabilityZone && host.azHint && host.azHint !== aggregate.availabilityZone) {
    throw failedPrecondition(
      `host "${hostName}" asks for availability zone "${host.azHint}" but aggregate ${aggregateId} is in "${aggregate.availabilityZone}"`,
    );
  }
  return { aggregate, host };
}

/** Checks a RemoveHost request against the store (inside the caller's transaction). */
export function checkRemoveHost(store: Store, aggregateId: number, hostName: string): { aggregate: AggregateRecord; host: HostRecord } {
  const aggregate = requireAggregate(store, aggregateId);
  const host = requireHost(store, hostName);
  if (host.aggregateId !== aggregateId) throw notFound(`host "${hostName}" is not in aggregate ${aggregateId}`);
  return { aggregate, host };
}

/** Validates the fields of AddHost/RemoveHost. */
export function validateHostRequest(aggregateId: bigint, host: string): number {
  assertValid(violations(checkId(aggregateId, "aggregate_id"), checkHostName(host)));
  return Number(aggregateId);
}
