/** The controller's records, as the store keeps them and the domain rules use them. */

export type PoolStateName = "EMPTY" | "CHANGING" | "ACTIVE" | "ERROR";
export type MembershipName = "JOINING" | "MEMBER" | "LEAVING" | "FAILED";
export type LivenessName = "ALIVE" | "XAPI_UNREACHABLE" | "UNREACHABLE" | "FAILED";
export type MaintenanceName = "NONE" | "ENTERING" | "IN_MAINTENANCE" | "LEAVING";
export type OperationStateName = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type OperationKindName = "ADD_HOST" | "REMOVE_HOST" | "START_MAINTENANCE" | "STOP_MAINTENANCE" | "RECOVER_MASTER";
export type StepStateName = "PENDING" | "RUNNING" | "DONE" | "FAILED" | "SKIPPED";

/** A failure recorded on a pool. */
export interface PoolErrorRecord {
  message: string;
  xapiCode?: string;
  xapiParams?: string[];
  operationId?: string;
  occurredAt: string;
}

/** A VM lost with a failed host. */
export interface LostVmRecord {
  vmUuid: string;
  vmName: string;
  host: string;
}

/** One host of an aggregate. */
export interface MemberRecord {
  host: string;
  state: MembershipName;
}

/** An aggregate with its metadata and members. */
export interface AggregateRecord {
  id: number;
  uuid: string;
  name: string;
  availabilityZone: string | null;
  /** True when the zone was taken from the first host's hint (cleared when the last host leaves). */
  azFromHost: boolean;
  poolState: PoolStateName;
  masterHost: string | null;
  poolUuid: string | null;
  lastError: PoolErrorRecord | null;
  drift: string[];
  lostVms: LostVmRecord[];
  checkedAt: string | null;
  createdAt: string;
  updatedAt: string;
  metadata: Record<string, string>;
  members: MemberRecord[];
}

/** Capacity an agent reported. */
export interface CapacityRecord {
  memoryTotalBytes: number;
  memoryFreeBytes: number;
  runningVms: number;
  cpuVendor: string;
}

/** Pool facts an agent reported. */
export interface PoolFactsRecord {
  hostUuid: string;
  poolUuid: string;
  poolName: string;
  masterAddress: string;
  role: "MASTER" | "SLAVE" | "UNSPECIFIED";
  xapiReachable: boolean;
  emergencyMode: boolean;
}

/** A registered host. */
export interface HostRecord {
  name: string;
  uuid: string | null;
  xapiAddress: string;
  agentEndpoint: string;
  azHint: string | null;
  enabled: boolean;
  aggregateId: number | null;
  membership: MembershipName | null;
  capacity: CapacityRecord | null;
  poolFacts: PoolFactsRecord | null;
  liveness: LivenessName;
  lastHeartbeatAt: string | null;
  registeredAt: string;
  maintenance: MaintenanceName;
  statusReason: string | null;
}

/** One step of an operation. */
export interface StepRecord {
  name: string;
  state: StepStateName;
  detail?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** Why an operation failed. */
export interface OperationErrorRecord {
  code: string;
  message: string;
  xapiCode?: string;
  xapiParams?: string[];
}

/** One VM move of an evacuation or rebalance. */
export interface VmMoveRecord {
  vmUuid: string;
  vmName: string;
  fromHost: string;
  toHost: string;
  toHostUuid: string;
  memoryBytes: number;
  state: "PLANNED" | "MIGRATING" | "DONE" | "FAILED" | "SKIPPED";
  progress: number;
  error?: string;
  attempts: number;
  /** Targets that refused this VM (uuids). */
  refusedBy?: string[];
}

/** A VM that cannot move. */
export interface VmBlockerRecord {
  vmUuid: string;
  vmName: string;
  reason: string;
  xapiCode: string;
  xapiParams: string[];
}

/** Plan and progress of an evacuation or rebalance. */
export interface EvacuationRecord {
  moves: VmMoveRecord[];
  blockers: VmBlockerRecord[];
  vmsTotal: number;
  vmsMoved: number;
  maxParallel: number;
  validateOnly: boolean;
}

/** A long-running operation (the journal the orchestrator resumes from). */
export interface OperationRecord {
  seq: number;
  id: string;
  kind: OperationKindName;
  aggregateId: number | null;
  host: string | null;
  state: OperationStateName;
  progress: number;
  steps: StepRecord[];
  params: Record<string, unknown>;
  error: OperationErrorRecord | null;
  evacuation: EvacuationRecord | null;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** Something that happened. */
export interface EventRecord {
  id: number;
  time: string;
  kind: string;
  aggregateId: number | null;
  host: string | null;
  operationId: string | null;
  message: string;
}

/** The current time as stored (ISO 8601, milliseconds, UTC). */
export const nowIso = (): string => new Date().toISOString();
