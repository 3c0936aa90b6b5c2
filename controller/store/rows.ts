/**
 * The tables' rows and how they map to records, for every database the store runs on (both keep
 * the same column types as seen by the driver: numbers, 0/1 flags, TEXT timestamps, JSON as TEXT).
 */
import type {
  AggregateRecord,
  CapacityRecord,
  EventRecord,
  HostRecord,
  LivenessName,
  MaintenanceName,
  MemberRecord,
  MembershipName,
  OperationKindName,
  OperationRecord,
  OperationStateName,
  PoolErrorRecord,
  PoolFactsRecord,
  PoolStateName,
} from "../model/records.js";
import { reportedLiveness, type HostChange } from "../model/lifecycle.js";
import { parseJson, toJson } from "./json-column.js";
import type { PoolUpdate, VmOrigin } from "./store.js";

/** A row of aggregates. */
export interface AggregateRow {
  id: number;
  uuid: string;
  name: string;
  availability_zone: string | null;
  az_from_host: number;
  pool_state: PoolStateName;
  master_host: string | null;
  pool_uuid: string | null;
  last_error: string | null;
  drift: string | null;
  lost_vms: string | null;
  checked_at: string | null;
  created_at: string;
  updated_at: string;
}

/** An aggregate record from its row, its metadata rows and its members. */
export function hydrateAggregate(row: AggregateRow, metadata: { key: string; value: string }[], members: MemberRecord[]): AggregateRecord {
  return {
    id: row.id,
    uuid: row.uuid,
    name: row.name,
    availabilityZone: row.availability_zone,
    azFromHost: row.az_from_host === 1,
    poolState: row.pool_state,
    masterHost: row.master_host,
    poolUuid: row.pool_uuid,
    lastError: parseJson(row.last_error, null),
    drift: parseJson(row.drift, []),
    lostVms: parseJson(row.lost_vms, []),
    checkedAt: row.checked_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    metadata: Object.fromEntries(metadata.map((m) => [m.key, m.value])),
    members,
  };
}

/** The aggregates columns a pool update writes, with their values (updated_at is the caller's). */
export function poolUpdateColumns(update: PoolUpdate): [column: string, value: unknown][] {
  const columns: [string, unknown][] = [];
  if (update.masterHost !== undefined) columns.push(["master_host", update.masterHost]);
  if (update.poolUuid !== undefined) columns.push(["pool_uuid", update.poolUuid]);
  if (update.drift !== undefined) columns.push(["drift", toJson(update.drift)]);
  if (update.lostVms !== undefined) columns.push(["lost_vms", toJson(update.lostVms)]);
  if (update.checkedAt !== undefined) columns.push(["checked_at", update.checkedAt]);
  if (update.availabilityZone !== undefined) columns.push(["availability_zone", update.availabilityZone]);
  if (update.azFromHost !== undefined) columns.push(["az_from_host", update.azFromHost ? 1 : 0]);
  return columns;
}

/** The facts the life cycle derives a pool state from, as the tables hold them (FAILED members do not count). */
export function poolFactsOf(members: readonly { membership: MembershipName | null }[], lastError: string | null): { hosts: number; lastError: PoolErrorRecord | null } {
  return { hosts: members.filter((m) => m.membership !== "FAILED").length, lastError: parseJson(lastError, null) };
}

/** A row of hosts. */
export interface HostRow {
  name: string;
  uuid: string | null;
  xapi_address: string;
  agent_endpoint: string;
  az_hint: string | null;
  enabled: number;
  aggregate_id: number | null;
  membership: MembershipName | null;
  capacity: string | null;
  pool_facts: string | null;
  liveness: LivenessName;
  last_heartbeat_at: string | null;
  registered_at: string;
  maintenance: MaintenanceName;
  status_reason: string | null;
}

/** A host record from its row. */
export const hydrateHost = (r: HostRow): HostRecord => ({
  name: r.name,
  uuid: r.uuid,
  xapiAddress: r.xapi_address,
  agentEndpoint: r.agent_endpoint,
  azHint: r.az_hint,
  enabled: r.enabled === 1,
  aggregateId: r.aggregate_id,
  membership: r.membership,
  capacity: parseJson<CapacityRecord | null>(r.capacity, null),
  poolFacts: parseJson<PoolFactsRecord | null>(r.pool_facts, null),
  liveness: r.liveness,
  lastHeartbeatAt: r.last_heartbeat_at,
  registeredAt: r.registered_at,
  maintenance: r.maintenance,
  statusReason: r.status_reason,
});

/** The hosts columns a life-cycle change writes, with their values (member_seq follows aggregate_id: the repo's). */
export function hostChangeColumns(change: HostChange): [column: string, value: unknown][] {
  const columns: [string, unknown][] = [];
  if (change.aggregateId !== undefined) columns.push(["aggregate_id", change.aggregateId]);
  if (change.membership !== undefined) columns.push(["membership", change.membership]);
  if (change.enabled !== undefined) columns.push(["enabled", change.enabled ? 1 : 0]);
  if (change.maintenance !== undefined) columns.push(["maintenance", change.maintenance]);
  if (change.liveness !== undefined) columns.push(["liveness", change.liveness]);
  if (change.statusReason !== undefined) columns.push(["status_reason", change.statusReason]);
  return columns;
}

/**
 * The values a heartbeat writes (each kept when null: COALESCE), and the liveness it reports,
 * which never replaces FAILED (a FAILED host stays FAILED until it is fenced: model/lifecycle).
 */
export function heartbeatValues(capacity: CapacityRecord | null, facts: PoolFactsRecord | null): { capacity: string | null; facts: string | null; uuid: string | null; liveness: LivenessName } {
  return { capacity: toJson(capacity), facts: toJson(facts), uuid: facts?.hostUuid || null, liveness: reportedLiveness(facts) };
}

/** A row of operations. */
export interface OperationRow {
  seq: number;
  id: string;
  kind: OperationKindName;
  aggregate_id: number | null;
  host: string | null;
  state: OperationStateName;
  progress: number;
  steps: string;
  params: string;
  error: string | null;
  evacuation: string | null;
  cancel_requested: number;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
}

// The one place params are read back: the kind column says which params the JSON holds.
/** An operation record from its row. */
export const hydrateOperation = (r: OperationRow): OperationRecord => ({
  seq: r.seq,
  id: r.id,
  kind: r.kind,
  aggregateId: r.aggregate_id,
  host: r.host,
  state: r.state,
  progress: r.progress,
  steps: parseJson(r.steps, []),
  params: parseJson(r.params, {}) as never,
  error: parseJson(r.error, null),
  evacuation: parseJson(r.evacuation, null),
  cancelRequested: r.cancel_requested === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  finishedAt: r.finished_at,
});

/** The values of the mutable operation columns that save() writes, in this order:
 * state, progress, steps, params, error, evacuation, cancel_requested (the caller adds updated_at, finished_at, id). */
export function operationSaveValues(op: OperationRecord): unknown[] {
  return [op.state, op.progress, JSON.stringify(op.steps), JSON.stringify(op.params), toJson(op.error), toJson(op.evacuation), op.cancelRequested ? 1 : 0];
}

/** A row of events. */
export interface EventRow {
  id: number;
  time: string;
  kind: string;
  aggregate_id: number | null;
  host: string | null;
  operation_id: string | null;
  message: string;
}

/** An event record from its row. */
export const hydrateEvent = (r: EventRow): EventRecord => ({
  id: r.id,
  time: r.time,
  kind: r.kind,
  aggregateId: r.aggregate_id,
  host: r.host,
  operationId: r.operation_id,
  message: r.message,
});

/** A row of vm_origins. */
export interface VmOriginRow {
  vm_uuid: string;
  vm_name: string;
  origin_host: string;
  moved_to: string;
  operation_id: string;
  moved_at: string;
}

/** A VM origin from its row. */
export const hydrateVmOrigin = (r: VmOriginRow): VmOrigin => ({
  vmUuid: r.vm_uuid,
  vmName: r.vm_name,
  originHost: r.origin_host,
  movedTo: r.moved_to,
  operationId: r.operation_id,
  movedAt: r.moved_at,
});
