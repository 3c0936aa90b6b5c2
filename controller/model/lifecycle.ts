/**
 * The life cycle of aggregates and hosts: the only place that decides an aggregate's pool state
 * and error, and a host's membership, maintenance, liveness and enabled flag. Pure: it returns
 * changes, and the store applies them (the store's write methods for these fields accept nothing
 * else). Pool state is derived from facts — never set — and ERROR lasts exactly as long as the
 * recorded error: an operation's failure, or the master-failure condition, sets it; a repair, the
 * master answering again, or a successful master recovery clears it.
 */
import type {
  HostRecord,
  LivenessName,
  MaintenanceName,
  MembershipName,
  OperationErrorRecord,
  OperationKindName,
  PoolErrorRecord,
  PoolFactsRecord,
  PoolStateName,
} from "./records.js";

declare const decided: unique symbol;

/** A change of a host's state fields; only the transitions below make one. */
export type HostChange = {
  readonly aggregateId?: number | null;
  readonly membership?: MembershipName | null;
  readonly enabled?: boolean;
  readonly maintenance?: MaintenanceName;
  readonly liveness?: LivenessName;
  readonly statusReason?: string | null;
} & { readonly [decided]: true };

/** A change of an aggregate's recorded error; only the transitions below make one. */
export type PoolErrorChange = { readonly lastError: PoolErrorRecord | null } & { readonly [decided]: true };

const host = (c: Omit<HostChange, typeof decided>): HostChange => c as HostChange;
const poolError = (lastError: PoolErrorRecord | null): PoolErrorChange => ({ lastError }) as PoolErrorChange;

// ── pool state ──────────────────────────────────────────────────────────────────────────────

/** Kinds of operation that are the remedy of an ERROR: they may run while it lasts. */
const remedyKinds: ReadonlySet<OperationKindName> = new Set(["RECOVER_MASTER"]);

/** True for a kind that may run while the aggregate is in ERROR (its own failure replaces the reason). */
export const isRemedy = (kind: OperationKindName): boolean => remedyKinds.has(kind);

/** What an aggregate's pool state is derived from. */
export interface PoolStateFacts {
  /** Hosts recorded in the aggregate, other than FAILED former masters. */
  hosts: number;
  lastError: PoolErrorRecord | null;
  /** Kinds of the aggregate's operations that have not ended. */
  unfinished: readonly OperationKindName[];
}

/**
 * The pool state: ERROR while an error is recorded (a running remedy shows CHANGING through it),
 * CHANGING while an operation has not ended, else EMPTY or ACTIVE.
 */
export function poolStateOf(f: PoolStateFacts): PoolStateName {
  if (f.lastError && !f.unfinished.some(isRemedy)) return "ERROR";
  if (f.unfinished.length > 0) return "CHANGING";
  return f.hosts === 0 ? "EMPTY" : "ACTIVE";
}

/** Why new work of this kind is refused on the aggregate, or undefined when it may be accepted. */
export function refusalWhileError(aggregate: { id: number; lastError: PoolErrorRecord | null }, kind: OperationKindName): string | undefined {
  if (!aggregate.lastError || isRemedy(kind)) return undefined;
  return `aggregate ${aggregate.id} is in ERROR (${aggregate.lastError.message}); run "aggctl aggregate-repair ${aggregate.id}" first`;
}

// ── the recorded error ──────────────────────────────────────────────────────────────────────

/** How an operation's end bears on the pool. */
export interface OperationEnd {
  kind: OperationKindName;
  operationId: string;
  error: OperationErrorRecord;
  finishedAt: string;
  /** False for operations whose failure leaves the pool as it was (evacuations). */
  breaksPool: boolean;
}

/** The error after an operation failed: the first failure's reason stays until a repair (a remedy's own failure replaces it). */
export function errorAfterFailure(current: PoolErrorRecord | null, end: OperationEnd): PoolErrorChange {
  if (!end.breaksPool || (current && !isRemedy(end.kind))) return poolError(current);
  const { message, xapiCode, xapiParams } = end.error;
  return poolError({ message, xapiCode, xapiParams, operationId: end.operationId, occurredAt: end.finishedAt });
}

/** The error after a successful remedy: the master-failure condition, or a failed remedy's error, is over; another failure stays. */
export function errorAfterRemedy(current: PoolErrorRecord | null, kindOfFailedOperation: OperationKindName | undefined): PoolErrorChange {
  const over = isMasterFailureError(current) || (kindOfFailedOperation !== undefined && isRemedy(kindOfFailedOperation));
  return poolError(over ? null : current);
}

/** A repair converged the record to the real pool. */
export const errorAfterRepair = (): PoolErrorChange => poolError(null);

const masterFailurePrefix = "pool master failed: ";

/** The master-failure condition, shown while a failed master waits for an operator. */
export function masterFailureCondition(text: string, now: string): PoolErrorChange {
  return poolError({ message: `${masterFailurePrefix}${text}`, occurredAt: now });
}

/** The master answers again: the master-failure condition (only that) is over. */
export function errorWhenMasterAnswers(current: PoolErrorRecord | null): PoolErrorChange {
  return poolError(isMasterFailureError(current) ? null : current);
}

/** True when a recorded error is the master-failure condition (not an operation's failure). */
export function isMasterFailureError(error: PoolErrorRecord | null | undefined): boolean {
  return !!error && !error.operationId && error.message.startsWith(masterFailurePrefix);
}

// ── hosts: membership ───────────────────────────────────────────────────────────────────────

/** AddHost accepted: the host is JOINING the aggregate. */
export const beginJoin = (aggregateId: number): HostChange => host({ aggregateId, membership: "JOINING" });

/** The pool lists the host as a live member and it is enabled in XenServer. */
export const confirmMember = (): HostChange => host({ membership: "MEMBER", enabled: true, statusReason: null });

/** AddHost ended before anything happened to the pool: the intent is undone. */
export const abandonJoin = (): HostChange => host({ aggregateId: null, membership: null });

/** RemoveHost accepted: the host is LEAVING. */
export const beginLeave = (): HostChange => host({ membership: "LEAVING" });

/** RemoveHost ended before anything happened to the pool: the host is what it was. */
export const abandonLeave = (prior: "MEMBER" | "FAILED"): HostChange => host({ membership: prior });

/** The host left the aggregate (ejected, or its pool dissolved): standalone, disabled, out of maintenance. */
export const release = (aggregateId: number): HostChange =>
  host({ aggregateId: null, membership: null, enabled: false, maintenance: "NONE", statusReason: `removed from aggregate ${aggregateId}` });

/** A pool master declared failed and replaced. */
export const markFailed = (reason: string): HostChange => host({ membership: "FAILED", enabled: false, liveness: "FAILED", statusReason: reason });

/** A failed former master was repointed at the current master: alive again, still FAILED and disabled. */
export const fenced = (reason: string): HostChange => host({ enabled: false, liveness: "ALIVE", statusReason: reason });

// ── hosts: what a repair finds ──────────────────────────────────────────────────────────────

/**
 * Repair: the pool lists the host; the record follows XenServer's enabled flag — except that a host
 * in maintenance stays disabled (maintenance means it takes no VMs; the reconciler then disables it
 * in XenServer too), so the record never says "enabled" and "in maintenance" at once.
 */
export const adoptedByRepair = (enabledInPool: boolean, maintenance: MaintenanceName = "NONE"): HostChange => {
  const enabled = enabledInPool && maintenance === "NONE";
  return host({ membership: "MEMBER", enabled, statusReason: enabled ? null : enabledInPool ? "in maintenance" : "disabled in XenServer" });
};

/** Repair: a fenced former master is a live slave of the pool again; it stays disabled until an operator enables it. */
export const fencedBackByRepair = (): HostChange =>
  host({ membership: "MEMBER", enabled: false, statusReason: "former master, fenced and back in the pool; enable it with host-maintenance-stop" });

/** Repair: the pool does not list the host; it is standalone, disabled and out of maintenance (as after a release). */
export const removedByRepair = (aggregateId: number): HostChange =>
  host({ aggregateId: null, membership: null, enabled: false, maintenance: "NONE", statusReason: `removed from aggregate ${aggregateId} by repair: not in its pool` });

// ── hosts: enabled flag and maintenance ─────────────────────────────────────────────────────

/** The host takes new VMs. */
export const enable = (): HostChange => host({ enabled: true, statusReason: null });

/** The host takes no new VMs. */
export const disable = (reason: string): HostChange => host({ enabled: false, statusReason: reason });

/**
 * Why an operator may not set the enabled flag, or undefined: not while the host joins or leaves
 * an aggregate (its operation sets the flag), and never enabling a host in maintenance or a FAILED
 * former master (StopMaintenance, or repair then StopMaintenance, put them back in service).
 */
export function refusalOfEnabled(h: Pick<HostRecord, "name" | "maintenance" | "membership" | "aggregateId">, enabled: boolean): string | undefined {
  if (h.membership === "JOINING" || h.membership === "LEAVING") {
    return `host "${h.name}" is ${h.membership === "JOINING" ? "joining" : "leaving"} aggregate ${h.aggregateId}; wait for that operation to end`;
  }
  if (enabled && h.membership === "FAILED") {
    return `host "${h.name}" is a FAILED former pool master of aggregate ${h.aggregateId}; once it is fenced run "aggctl aggregate-repair ${h.aggregateId}", then "aggctl host-maintenance-stop ${h.name}"`;
  }
  if (enabled && h.maintenance !== "NONE") return `host "${h.name}" is in maintenance (${h.maintenance}); use StopMaintenance`;
  return undefined;
}

/** True when a host's enabled flag lives in a pool (a confirmed member): SetHostEnabled sets it in XenServer too. */
export const enabledInPool = (h: Pick<HostRecord, "aggregateId" | "membership">): boolean => h.aggregateId !== null && h.membership === "MEMBER";

/**
 * Whether the record wants the host enabled in XenServer: only a confirmed member that is enabled
 * and not in maintenance. A host disabled by an operator or a failed evacuation, in any maintenance
 * state, or FAILED (fenced former masters) must stay disabled there.
 */
export const takesVms = (h: Pick<HostRecord, "membership" | "enabled" | "maintenance">): boolean => h.membership === "MEMBER" && h.enabled && h.maintenance === "NONE";

/** Why maintenance cannot start on the host, or undefined. */
export function refusalOfMaintenanceStart(h: Pick<HostRecord, "name" | "maintenance">): string | undefined {
  if (h.maintenance === "NONE") return undefined;
  return `host "${h.name}" is already ${h.maintenance === "ENTERING" ? "being evacuated" : "in maintenance"}`;
}

/** Why maintenance cannot stop on the host, or undefined. */
export function refusalOfMaintenanceStop(h: Pick<HostRecord, "name" | "maintenance" | "enabled">): string | undefined {
  if (h.maintenance === "ENTERING") return `host "${h.name}" is still being evacuated; wait for the operation or cancel it first`;
  if (h.maintenance === "LEAVING") return `host "${h.name}" is already leaving maintenance`;
  if (h.maintenance === "NONE" && h.enabled) return `host "${h.name}" is not in maintenance`;
  return undefined;
}

/** StartMaintenance accepted. */
export const beginEvacuation = (): HostChange => host({ maintenance: "ENTERING" });

/** The host is disabled and empty (but for allowed blockers). */
export const enterMaintenance = (): HostChange => host({ maintenance: "IN_MAINTENANCE" });

/** StartMaintenance ended without success: out of ENTERING; a host it disabled stays disabled with the reason. */
export function evacuationEnded(h: Pick<HostRecord, "name" | "enabled">, why: string): HostChange {
  if (h.enabled) return host({ maintenance: "NONE" });
  return host({
    maintenance: "NONE",
    enabled: false,
    statusReason: `maintenance did not complete (${why}); the host stays disabled until "aggctl host-maintenance-stop ${h.name}"`,
  });
}

/** StopMaintenance accepted. */
export const beginLeaveMaintenance = (): HostChange => host({ maintenance: "LEAVING" });

/** StopMaintenance finished. */
export const leaveMaintenance = (): HostChange => host({ maintenance: "NONE" });

/** StopMaintenance ended without success: back in maintenance unless it was enabled already. */
export function leaveMaintenanceEnded(h: Pick<HostRecord, "maintenance" | "enabled">): HostChange | undefined {
  if (h.maintenance !== "LEAVING") return undefined;
  return host({ maintenance: h.enabled ? "NONE" : "IN_MAINTENANCE" });
}

// ── hosts: liveness ─────────────────────────────────────────────────────────────────────────

/** The liveness an agent's report implies (a FAILED host stays FAILED until it is fenced: the store keeps it). */
export function reportedLiveness(facts: PoolFactsRecord | null): LivenessName {
  return facts && !facts.xapiReachable ? "XAPI_UNREACHABLE" : "ALIVE";
}

/** No heartbeat for three intervals. */
export const silent = (): HostChange => host({ liveness: "UNREACHABLE", statusReason: "no heartbeat for three intervals" });
