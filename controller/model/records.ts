/** The controller's records, as the store keeps them and the rules use them (pure types, no I/O). */

export type PoolStateName = "EMPTY" | "CHANGING" | "ACTIVE" | "ERROR";
export type MembershipName = "JOINING" | "MEMBER" | "LEAVING" | "FAILED";
export type LivenessName = "ALIVE" | "XAPI_UNREACHABLE" | "UNREACHABLE" | "FAILED";
export type MaintenanceName = "NONE" | "ENTERING" | "IN_MAINTENANCE" | "LEAVING";
export type OperationStateName = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED";
export type OperationKindName = "ADD_HOST" | "REMOVE_HOST" | "START_MAINTENANCE" | "STOP_MAINTENANCE" | "RECOVER_MASTER" | "ROLLING_MAINTENANCE";
export type StepStateName = "PENDING" | "RUNNING" | "DONE" | "FAILED" | "SKIPPED" | "CANCELLED";

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

/** AddHost records no params: the host and aggregate are the operation's own fields. */
export type AddHostParams = Record<string, never>;

/** What a REMOVE_HOST operation records. */
export interface RemoveHostParams {
  /** The membership before removal (a FAILED former master may be offline). */
  priorMembership: "MEMBER" | "FAILED";
  /** The member chosen to take over as master (kept so a resume hands over to the same host). */
  newMaster?: string;
}

/** What a START_MAINTENANCE operation records. */
export interface StartMaintenanceParams {
  maxParallel: number;
  allowPartial: boolean;
  /** The member chosen to take over as master when the host is the master. */
  newMaster?: string;
}

/** What a STOP_MAINTENANCE operation records. */
export interface StopMaintenanceParams {
  rebalance: boolean;
  maxParallel: number;
}

/** What a RECOVER_MASTER operation records. */
export interface RecoverMasterParams {
  /** The failed master. */
  failedMaster: string;
  /** Why it is considered failed (at acceptance). */
  evidence: string;
  /** "detector" (automatic) or "operator" (RecoverMaster call). */
  trigger: "detector" | "operator";
  /** The member the operator named, if any. */
  requestedNewMaster?: string;
  /** Free memory of the members when the pool was last healthy (they report none without a master). */
  freeMemoryHints: Record<string, number>;
  /** When the failure was accepted. */
  detectedAt: string;
  /** Chosen by choose-new-master. */
  newMaster?: string;
  /** Set when the old master turned out to be reachable again: nothing is changed. */
  masterBack?: boolean;
  /** Hosts repointed by recover_slaves. */
  recovered?: string[];
}

/** What a rolling maintenance does to each empty host. */
export type RollingActionName = "REBOOT" | "PAUSE" | "HOOK";

/** Where one host of a rolling maintenance is. */
export type RollingHostStateName = "PENDING" | "EVACUATING" | "IN_ACTION" | "PAUSED" | "DONE";

/** One host of a rolling maintenance: the pre-check's plan for it and its progress. */
export interface RollingHostRecord {
  name: string;
  state: RollingHostStateName;
  /** The pool master when the run was planned. */
  master: boolean;
  /** Where its running VMs go when it is taken out (pre-check; state PLANNED). */
  plannedMoves: VmMoveRecord[];
  /** VMs that cannot leave it (pre-check). */
  blockers: VmBlockerRecord[];
  vmsMoved: number;
  detail?: string;
  startedAt?: string;
  finishedAt?: string;
  /** What the reused StartMaintenance steps read and write for this host (e.g. the chosen new master). */
  maintenance: StartMaintenanceParams;
  /** REBOOT: recorded before host.reboot is asked, so a resumed step knows what it waits for. */
  reboot?: { previousAgentStartTime: string; requestedAt: string; accepted?: boolean };
}

/** A VM that did not get back to the host it ran on when the run started. */
export interface UnreturnedVmRecord {
  vmUuid: string;
  vmName: string;
  homeHost: string;
  currentHost: string;
  reason: string;
}

/** A pause waiting for ResumeOperation. */
export interface PauseRecord {
  /** The step that paused (it runs again when resumed). */
  step: string;
  host: string;
  reason: string;
  since: string;
  /** Set by ResumeOperation. */
  resumed: boolean;
}

/** What a ROLLING_MAINTENANCE operation records. */
export interface RollingMaintenanceParams {
  action: RollingActionName;
  hook: string;
  maxParallel: number;
  skipReturn: boolean;
  /** In the order they are taken out. */
  hosts: RollingHostRecord[];
  /** Where each running guest ran when the run was accepted (VM uuid → host and name): where the return sends it. */
  homes: Record<string, { host: string; vmName: string }>;
  /** Estimated duration of the migrations, and the bandwidth the estimate used. */
  estimatedMs: number;
  estimateBandwidthBytesPerSecond: number;
  pause?: PauseRecord;
  /** Migrations completed: the evacuations' plus returnMigrations. */
  vmsMoved: number;
  /** VMs away from home when the return began that are home again. */
  vmsReturned: number;
  /** The return's record: the VMs away from home when it began, and its completed migrations. */
  returnAway?: string[];
  returnMigrations?: number;
  unreturned: UnreturnedVmRecord[];
}

/** The params of each kind of operation. */
export interface OperationParamsByKind {
  ADD_HOST: AddHostParams;
  REMOVE_HOST: RemoveHostParams;
  START_MAINTENANCE: StartMaintenanceParams;
  STOP_MAINTENANCE: StopMaintenanceParams;
  RECOVER_MASTER: RecoverMasterParams;
  ROLLING_MAINTENANCE: RollingMaintenanceParams;
}

/** The fields every operation has (the journal the engine resumes from). */
export interface OperationFields {
  seq: number;
  id: string;
  aggregateId: number | null;
  host: string | null;
  state: OperationStateName;
  progress: number;
  steps: StepRecord[];
  error: OperationErrorRecord | null;
  evacuation: EvacuationRecord | null;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

/** An operation of one kind, with that kind's params. */
export type OperationOf<K extends OperationKindName> = OperationFields & { kind: K; params: OperationParamsByKind[K] };

/** A long-running operation: a discriminated union on kind. */
export type OperationRecord = { [K in OperationKindName]: OperationOf<K> }[OperationKindName];

/** The states an operation never leaves. */
export const terminalOperationStates: ReadonlySet<OperationStateName> = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

/** True once an operation has ended. */
export const isTerminal = (state: OperationStateName): boolean => terminalOperationStates.has(state);

/** True while an operation waits for ResumeOperation. */
export function isPaused(op: OperationRecord): boolean {
  return op.kind === "ROLLING_MAINTENANCE" && op.state === "RUNNING" && op.params.pause !== undefined && !op.params.pause.resumed;
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
