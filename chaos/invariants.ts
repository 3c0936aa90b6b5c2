/**
 * The promises a schedule checks once the system has settled, as pure functions of what the
 * controller records, what XenServer answers (through XenAPI) and what was seen during the run.
 */
import type { RealHost } from "./real-pool.js";

/** An aggregate as the controller records it. */
export interface RecordedAggregate {
  id: bigint;
  name: string;
  /** "EMPTY" | "CHANGING" | "ACTIVE" | "ERROR". */
  state: string;
  master: string;
  /** Every recorded host of the aggregate (any membership state). */
  hosts: string[];
  lastError: string;
  /** What the reconciler last reported as drift (shown with a violation, to help find its cause). */
  drift: string[];
}

/** A host as the controller records it. */
export interface RecordedHostState {
  enabled: boolean;
  /** "NONE" | "ENTERING" | "IN_MAINTENANCE" | "LEAVING". */
  maintenance: string;
  /** "MEMBER" | "JOINING" | "LEAVING" | "FAILED" | …. */
  membership: string;
}

/** Whether the record wants the host to take VMs (enabled in XenServer): an enabled MEMBER out of maintenance. */
export const recordWantsEnabled = (h: RecordedHostState | undefined): boolean => !!h && h.enabled && h.maintenance === "NONE" && h.membership === "MEMBER";

/** An operation as the controller records it. */
export interface RecordedOperation {
  id: string;
  kind: string;
  /** "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELLED". */
  state: string;
  target: string;
  /** A rolling maintenance's hosts and where each is ("PENDING" | "EVACUATING" | "IN_ACTION" | "PAUSED" | "DONE"). */
  rollingHosts?: { host: string; state: string }[];
}

/** The controller's record. */
export interface ControllerRecord {
  aggregates: RecordedAggregate[];
  /** Host name → aggregate id (0n: in no aggregate). */
  hostAggregate: Map<string, bigint>;
  /** Host name → what the record says of it. */
  hostStates: Map<string, RecordedHostState>;
  operations: RecordedOperation[];
}

/** Two requests that may not both win. */
export interface ConflictOutcome {
  what: string;
  /** How many of the two were accepted (an operation was created). */
  accepted: number;
  /** How many of their operations succeeded. */
  succeeded: number;
}

/** A guest that stopped running during the run, on hosts none of which failed. */
export interface HaltSeen {
  vm: string;
  /** Every host it was seen on (resident or migrating to). */
  hosts: string[];
}

/** What was seen while the schedule ran. */
export interface RunObservations {
  /** Guests running when the schedule began (uuid → name). */
  initialVms: Map<string, string>;
  /** Hosts that were powered off at some point. */
  failedHosts: Set<string>;
  halts: HaltSeen[];
  conflicts: ConflictOutcome[];
  /** Daemons that died without being told to. */
  deaths: string[];
}

/** A broken promise. */
export interface Violation {
  invariant: string;
  detail: string;
}

const terminal = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);
const addressOf = (url: string) => new URL(url).hostname;
const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** Every operation ended; no aggregate is CHANGING or left in ERROR; no host is left half-way into or out of maintenance. */
export function checkSettled(record: ControllerRecord): Violation[] {
  const found: Violation[] = [];
  for (const op of record.operations) {
    if (!terminal.has(op.state)) found.push({ invariant: "every operation ends", detail: `${op.kind} ${op.id} (${op.target}) is ${op.state}` });
  }
  // ENTERING and LEAVING exist only while an operation moves the host; once every one ended, none may be left.
  if (found.length === 0) {
    for (const [host, h] of record.hostStates) {
      if (h.maintenance === "ENTERING" || h.maintenance === "LEAVING") found.push({ invariant: "no host left half-way into or out of maintenance", detail: `${host} is ${h.maintenance} with no operation running` });
    }
  }
  for (const a of record.aggregates) {
    if (a.state === "CHANGING") found.push({ invariant: "no aggregate left CHANGING", detail: `${a.name} (${a.id})` });
    if (a.state === "ERROR") found.push({ invariant: "ERROR is repaired", detail: `${a.name} (${a.id}): ${a.lastError}` });
  }
  return found;
}

/** Every ACTIVE aggregate is its real pool: members, master, name and each host's enabled state; every other member follows that master. */
export function checkPools(record: ControllerRecord, real: readonly RealHost[]): Violation[] {
  const found: Violation[] = [];
  const byName = new Map(real.map((h) => [h.name, h]));
  for (const a of record.aggregates) {
    if (a.state !== "ACTIVE") continue;
    const before = found.length;
    const master = byName.get(a.master);
    const view = master?.view;
    if (!master || view?.kind !== "master") {
      found.push({ invariant: "ACTIVE aggregate = real pool", detail: `${a.name}: recorded master ${a.master} answers ${view ? JSON.stringify(view) : "nothing"}` });
      continue;
    }
    if (!same(view.hosts, a.hosts)) {
      found.push({ invariant: "ACTIVE aggregate = real pool", detail: `${a.name}: recorded hosts [${[...a.hosts].sort()}], pool of ${a.master} has [${view.hosts}]` });
    }
    if (view.master !== a.master) found.push({ invariant: "ACTIVE aggregate = real pool", detail: `${a.name}: recorded master ${a.master}, pool says ${view.master}` });
    if (view.poolName !== a.name) found.push({ invariant: "ACTIVE aggregate = real pool", detail: `${a.name}: pool is named "${view.poolName}"` });
    for (const h of a.hosts) {
      const enabled = view.enabledHosts.includes(h);
      const state = record.hostStates.get(h);
      if (view.hosts.includes(h) && recordWantsEnabled(state) !== enabled) {
        const said = state ? `enabled=${state.enabled}, maintenance ${state.maintenance}, ${state.membership}` : "no record";
        found.push({ invariant: "ACTIVE aggregate = real pool", detail: `${a.name}: ${h} is ${enabled ? "enabled" : "disabled"} in XenServer, but the record (${said}) wants it ${enabled ? "disabled" : "enabled"}` });
      }
      if (h === a.master) continue;
      const v = byName.get(h)?.view;
      if (v?.kind !== "slave" || v.masterAddress !== addressOf(master.url)) {
        found.push({ invariant: "ACTIVE aggregate = real pool", detail: `${a.name}: member ${h} does not follow ${a.master}: ${JSON.stringify(v)}` });
      }
    }
    if (a.drift.length > 0) for (const v of found.slice(before)) v.detail += ` [recorded drift: ${a.drift.join("; ")}]`;
  }
  return found;
}

/** A host in no aggregate is standalone: the master of a pool of itself alone. */
export function checkStandalone(record: ControllerRecord, real: readonly RealHost[]): Violation[] {
  const found: Violation[] = [];
  for (const h of real) {
    if ((record.hostAggregate.get(h.name) ?? 0n) !== 0n) continue;
    const v = h.view;
    if (v.kind !== "master" || !same(v.hosts, [h.name])) {
      found.push({ invariant: "a host in no aggregate is standalone", detail: `${h.name}: ${JSON.stringify(v.kind === "master" ? { master: v.master, hosts: v.hosts } : v)}` });
    }
  }
  return found;
}

/** No guest lost or duplicated; none halted unless a host it was on failed. */
export function checkVms(real: readonly RealHost[], seen: RunObservations): Violation[] {
  const found: Violation[] = [];
  const pools = new Map<string, Set<string>>();
  const running = new Map<string, string[]>();
  const final = new Map<string, { powerState: string; residentOn: string }>();
  for (const h of real) {
    if (h.view.kind !== "master") continue;
    for (const vm of h.view.vms) {
      (pools.get(vm.uuid) ?? pools.set(vm.uuid, new Set()).get(vm.uuid)!).add(h.view.poolUuid);
      if (vm.powerState === "Running") (running.get(vm.uuid) ?? running.set(vm.uuid, []).get(vm.uuid)!).push(`${vm.residentOn} (pool of ${h.name})`);
      final.set(vm.uuid, vm);
    }
  }
  for (const [uuid, name] of seen.initialVms) {
    const inPools = pools.get(uuid);
    if (!inPools) {
      found.push({ invariant: "no VM lost", detail: `${name} (${uuid}) is in no pool` });
      continue;
    }
    if (inPools.size > 1) found.push({ invariant: "no VM duplicated", detail: `${name} is in ${inPools.size} pools` });
    const where = running.get(uuid) ?? [];
    if (where.length > 1) found.push({ invariant: "no VM duplicated", detail: `${name} runs on ${where.join(", ")}` });
  }
  for (const halt of seen.halts) {
    if (halt.hosts.some((h) => seen.failedHosts.has(h))) continue;
    found.push({ invariant: "a running VM on a host that never failed is never halted", detail: `${seen.initialVms.get(halt.vm) ?? halt.vm} (seen on ${halt.hosts.join(", ")})` });
  }
  return found;
}

/** Exactly one winner for every conflicting pair: at most one accepted, at most one succeeded. */
export function checkConflicts(seen: RunObservations): Violation[] {
  return seen.conflicts
    .filter((c) => c.accepted > 1 || c.succeeded > 1)
    .map((c) => ({ invariant: "exactly one winner per conflict", detail: `${c.what}: ${c.accepted} accepted, ${c.succeeded} succeeded` }));
}

/** Every host of a rolling maintenance that succeeded is back in service; one that succeeded or was cancelled leaves no host half-done. */
export function checkRolling(record: ControllerRecord): Violation[] {
  const found: Violation[] = [];
  for (const op of record.operations) {
    if (op.kind !== "ROLLING_MAINTENANCE" || !op.rollingHosts || (op.state !== "SUCCEEDED" && op.state !== "CANCELLED")) continue;
    const allowed = op.state === "SUCCEEDED" ? ["DONE"] : ["PENDING", "DONE"];
    for (const h of op.rollingHosts.filter((x) => !allowed.includes(x.state))) {
      found.push({ invariant: "a rolling maintenance leaves no host half-done", detail: `${op.id} ended ${op.state} with ${h.host} ${h.state}` });
    }
  }
  return found;
}

/** No daemon died except those the schedule stopped. */
export function checkDeaths(seen: RunObservations): Violation[] {
  return seen.deaths.map((d) => ({ invariant: "no daemon died unless killed", detail: d }));
}

/** Every check. */
export function checkAll(record: ControllerRecord, real: readonly RealHost[], seen: RunObservations): Violation[] {
  return [...checkSettled(record), ...checkRolling(record), ...checkPools(record, real), ...checkStandalone(record, real), ...checkVms(real, seen), ...checkConflicts(seen), ...checkDeaths(seen)];
}
