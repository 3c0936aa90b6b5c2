/**
 * RecoverMaster: after the pool master failed, promote a surviving member
 * (pool.emergency_transition_to_master through its agent), repoint the other members at it
 * (pool.recover_slaves), record the new master, mark the old one FAILED and report the VMs that
 * died with it. Every step checks the real pool first, so a resumed operation repeats nothing.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { failedPrecondition, unavailable } from "../../shared/errors.js";
import type { ControllerContext } from "../context.js";
import { assertValid, requireAggregate, requireHost } from "../intake/aggregates.js";
import { nowIso, type AggregateRecord, type HostRecord, type LostVmRecord } from "../model/records.js";
import { checkHostName, violations } from "../model/validation.js";
import type { Store } from "../store/store.js";
import type { AgentDirectory } from "../pool/agent-directory.js";
import { StepFailure } from "../engine/failures.js";
import type { KnownCapacity } from "../pool/known-capacity.js";
import {
  askMembers,
  describeEvidence,
  isMasterFailureError,
  masterFailureError,
  probeMaster,
  survivingMembers,
  verdictOf,
  type MasterFailure,
} from "../pool/master-assessment.js";
import { callOptions, hostRecord } from "../pool/pool-view.js";
import { recordEvent } from "../store/record-event.js";
import type { OperationKindHandler, StepContext, StepResult } from "../engine/step-spec.js";

/** What a RECOVER_MASTER operation records in its params. */
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

const paramsOf = (s: Pick<StepContext, "op">) => s.op.params as unknown as RecoverMasterParams;
const aggregateOf = (s: Pick<StepContext, "ctx" | "op">) => s.ctx.store.aggregates.get(s.op.aggregateId!)!;
const probeTimeout = (s: Pick<StepContext, "remainingMs">) => Math.max(1, Math.min(10_000, s.remainingMs()));

/** Synchronous checks of RecoverMaster (repeated in the accepting transaction). */
export function checkRecoverMaster(store: Store, aggregateId: number, newMaster?: string): { aggregate: AggregateRecord; master: HostRecord } {
  if (newMaster) assertValid(violations(checkHostName(newMaster, "new_master")));
  const aggregate = requireAggregate(store, aggregateId);
  if (!aggregate.masterHost) throw failedPrecondition(`aggregate ${aggregateId} has no pool master (it has no hosts), so there is nothing to recover`);
  const running = store.operations.unfinished().find((o) => o.aggregateId === aggregateId && o.kind === "RECOVER_MASTER");
  if (running) throw failedPrecondition(`operation ${running.id} is already recovering the pool master of aggregate ${aggregateId}`);
  const master = store.hosts.get(aggregate.masterHost);
  if (!master) throw failedPrecondition(`the pool master "${aggregate.masterHost}" of aggregate ${aggregateId} is not registered`);
  if (newMaster) {
    const host = requireHost(store, newMaster);
    if (newMaster === master.name) throw failedPrecondition(`"${newMaster}" is the pool master of aggregate ${aggregateId} itself; name a surviving member`);
    if (host.aggregateId !== aggregateId || host.membership !== "MEMBER") {
      throw failedPrecondition(`host "${newMaster}" is not a confirmed member of aggregate ${aggregateId}, so it cannot take over as pool master`);
    }
  }
  return { aggregate, master };
}

/**
 * RecoverMaster asked by an operator: the master must have failed by the detector's rule (its
 * agent and heartbeats say it is down, and the surviving members cannot reach it either),
 * without the detector's waiting time. A partition that only the controller sees is refused.
 */
export async function confirmMasterFailure(
  ctx: ControllerContext,
  agents: AgentDirectory,
  aggregateId: number,
  newMaster: string | undefined,
  signal: AbortSignal,
): Promise<MasterFailure> {
  ctx.heartbeats.flush(); // heartbeat writes are batched: read the latest
  const { aggregate, master } = checkRecoverMaster(ctx.store, aggregateId, newMaster);
  const probe = await probeMaster(ctx, agents, master, { signal, timeoutMs: 10_000 });
  if (verdictOf(probe) === "healthy") {
    throw failedPrecondition(
      `the pool master ${master.name} of aggregate ${aggregateId} has not failed (${probe.answers ? probe.detail : probe.heartbeatDetail}); ` +
        `to move the master role, use RemoveHost or StartMaintenance on it`,
    );
  }
  const members = await askMembers(agents, aggregate, survivingMembers(ctx, aggregate), { signal, timeoutMs: 10_000 });
  const verdict = verdictOf(probe, members);
  if (verdict === "partition") {
    throw failedPrecondition(
      `the controller cannot reach ${master.name}, but the members still do (${describeEvidence(probe, members)}): promoting another master would split the pool`,
    );
  }
  if (verdict !== "failed") {
    throw unavailable(`no surviving member of aggregate ${aggregateId} could confirm that ${master.name} failed (${describeEvidence(probe, members)}); try again`);
  }
  return { master: master.name, evidence: describeEvidence(probe, members) };
}

/** The params of a new RECOVER_MASTER operation. */
export function recoverMasterParams(
  ctx: ControllerContext,
  aggregateId: number,
  failure: MasterFailure,
  trigger: RecoverMasterParams["trigger"],
  newMaster: string | undefined,
  known: KnownCapacity | undefined,
): Record<string, unknown> {
  const aggregate = ctx.store.aggregates.get(aggregateId)!;
  const hints = Object.fromEntries(survivingMembers(ctx, aggregate).map((h) => [h.name, known ? known.freeBytes(h) : (h.capacity?.memoryFreeBytes ?? 0)]));
  const params: RecoverMasterParams = {
    failedMaster: failure.master,
    evidence: failure.evidence,
    trigger,
    ...(newMaster ? { requestedNewMaster: newMaster } : {}),
    freeMemoryHints: hints,
    detectedAt: nowIso(),
  };
  return params as unknown as Record<string, unknown>;
}

/** The member already promoted, if a member reports being the master of the pool. */
async function memberReports(s: StepContext) {
  const aggregate = aggregateOf(s);
  return askMembers(s.agents, aggregate, survivingMembers(s.ctx, aggregate), { signal: s.signal, timeoutMs: probeTimeout(s) });
}

async function confirmFailure(s: StepContext): Promise<StepResult> {
  const p = paramsOf(s);
  const master = hostRecord(s, p.failedMaster);
  const members = await memberReports(s);
  const promoted = members.find((m) => m.promoted);
  if (promoted) return { detail: `${promoted.host} is already the master of the pool; the recovery goes on from there`, skipped: true };
  const probe = await probeMaster(s.ctx, s.agents, master, { signal: s.signal, timeoutMs: probeTimeout(s) });
  const back = (probe.answers && probe.role === HostRole.MASTER) || members.some((m) => m.view === "reaches");
  if (back) {
    p.masterBack = true;
    return { detail: `${master.name} is reachable again (${describeEvidence(probe, members)}); nothing to recover` };
  }
  return { detail: `failure of ${master.name} confirmed: ${describeEvidence(probe, members)}` };
}

async function chooseNewMaster(s: StepContext): Promise<StepResult> {
  const p = paramsOf(s);
  if (p.masterBack) return { detail: "the master is back; no new master needed", skipped: true };
  const members = await memberReports(s);
  const promoted = members.find((m) => m.promoted);
  if (promoted) {
    if (p.requestedNewMaster && p.requestedNewMaster !== promoted.host) {
      throw new StepFailure(`${promoted.host} was already promoted to pool master, so ${p.requestedNewMaster} cannot be; recover with ${promoted.host} (omit --new-master)`);
    }
    p.newMaster = promoted.host;
    return { detail: `${promoted.host} was already promoted to pool master` };
  }
  if (p.requestedNewMaster) {
    const report = members.find((m) => m.host === p.requestedNewMaster);
    if (!report?.info) throw new StepFailure(`the agent of ${p.requestedNewMaster} does not answer (${report?.detail ?? "not a member"})`, Code.Unavailable);
    if (report.view !== "confirms") throw new StepFailure(`${p.requestedNewMaster} cannot take over: ${report.detail}`);
    p.newMaster = p.requestedNewMaster;
    return { detail: `${p.newMaster} takes over as pool master (named by the operator)` };
  }
  const records = new Map(survivingMembers(s.ctx, aggregateOf(s)).map((h) => [h.name, h]));
  const freeOf = (name: string) => p.freeMemoryHints[name] || records.get(name)?.capacity?.memoryFreeBytes || 0;
  const candidates = members
    .filter((m) => m.view === "confirms" && m.info)
    .filter((m) => {
      const h = records.get(m.host);
      return h && h.enabled && h.maintenance === "NONE";
    })
    .sort((a, b) => freeOf(b.host) - freeOf(a.host));
  const chosen = candidates[0];
  if (!chosen) {
    const why = members.map((m) => m.detail).join("; ") || "it has no other members";
    throw new StepFailure(
      `no enabled, live member of aggregate ${s.op.aggregateId} can take over as pool master (${why}); ` +
        `name one with "aggctl aggregate-recover-master ${s.op.aggregateId} --new-master HOST"`,
    );
  }
  p.newMaster = chosen.host;
  const free = freeOf(chosen.host);
  return { detail: `${chosen.host} takes over as pool master (enabled, answers${free ? `, ${Math.round(free / 2 ** 20)} MiB free` : ""})` };
}

async function emergencyTransition(s: StepContext): Promise<StepResult> {
  const p = paramsOf(s);
  if (p.masterBack) return { detail: "the master is back; nothing promoted", skipped: true };
  const aggregate = aggregateOf(s);
  const next = hostRecord(s, p.newMaster!);
  const agent = s.agents.forHost(next);
  const info = await agent.getHostInfo({}, callOptions(s, 15_000));
  if (info.role === HostRole.MASTER && info.poolUuid === aggregate.poolUuid) return { detail: `${next.name} is already the pool master`, skipped: true };
  if (info.role === HostRole.SLAVE && info.poolUuid !== "" && !info.emergencyMode) {
    // It reads the pool through a master again: the old one came back before anything changed.
    p.masterBack = true;
    return { detail: `${next.name} reaches its master ${info.masterAddress} again; nothing promoted`, skipped: true };
  }
  const after = await agent.emergencyTransitionToMaster({}, callOptions(s));
  if (after.role !== HostRole.MASTER) throw new StepFailure(`${next.name} did not become a master (role ${HostRole[after.role]})`, Code.Unavailable);
  recordEvent(s.ctx, {
    kind: "pool.master-promoted",
    aggregateId: aggregate.id,
    host: next.name,
    operationId: s.op.id,
    message: `${next.name} was promoted to pool master of aggregate ${aggregate.id} (emergency transition; ${p.failedMaster} failed)`,
  });
  return { detail: `${next.name} is the pool master now (pool.emergency_transition_to_master)` };
}

async function recoverSlaves(s: StepContext): Promise<StepResult> {
  const p = paramsOf(s);
  if (p.masterBack) return { detail: "the master is back; nothing to repoint", skipped: true };
  const aggregate = aggregateOf(s);
  const next = hostRecord(s, p.newMaster!);
  const result = await s.agents.forHost(next).recoverSlaves({}, callOptions(s));
  const byUuid = new Map(s.ctx.store.hosts.members(aggregate.id).map((h) => [h.uuid, h.name]));
  const recovered = result.recoveredHostUuids.map((u) => byUuid.get(u) ?? u);
  p.recovered = recovered;
  const members = survivingMembers(s.ctx, aggregate).filter((h) => h.name !== next.name);
  const poolMembers = new Map((result.pool?.members ?? []).map((m) => [m.uuid, m]));
  const following = members.filter((h) => poolMembers.get(h.uuid ?? "")?.live).map((h) => h.name);
  const missing = members.filter((h) => !following.includes(h.name)).map((h) => h.name);
  recordEvent(s.ctx, {
    kind: "pool.slaves-recovered",
    aggregateId: aggregate.id,
    host: next.name,
    operationId: s.op.id,
    message:
      `${recovered.length ? recovered.join(", ") : "no host"} repointed at the new master ${next.name} (pool.recover_slaves)` +
      (missing.length ? `; not reachable yet: ${missing.join(", ")} (repointed when they come back)` : ""),
  });
  return {
    detail: `${following.length ? `${following.join(", ")} follow ${next.name}` : `no other member follows ${next.name}`}${missing.length ? `; not reachable: ${missing.join(", ")}` : ""}`,
  };
}

async function recordNewMaster(s: StepContext): Promise<StepResult> {
  const p = paramsOf(s);
  if (p.masterBack) return { detail: "the master is back; record unchanged", skipped: true };
  const aggregate = aggregateOf(s);
  const next = hostRecord(s, p.newMaster!);
  if (aggregate.masterHost === next.name) return { detail: `${next.name} is recorded as the pool master`, skipped: true };
  s.ctx.store.transaction(() => {
    s.ctx.store.aggregates.updatePool(aggregate.id, { masterHost: next.name }, nowIso());
    recordEvent(s.ctx, {
      kind: "pool.master-changed",
      aggregateId: aggregate.id,
      host: next.name,
      operationId: s.op.id,
      message: `${next.name} took over as pool master from the failed ${p.failedMaster}`,
    });
  });
  return { detail: `${next.name} is recorded as the pool master` };
}

/** The status reason of a failed master. */
export function failedMasterReason(p: Pick<RecoverMasterParams, "newMaster" | "detectedAt">, operationId: string, aggregateId: number): string {
  return (
    `failed as pool master of aggregate ${aggregateId} (detected ${p.detectedAt}); ${p.newMaster} took over (operation ${operationId}). ` +
    `When it comes back the controller fences it: repoints it at the new master and keeps it disabled`
  );
}

async function markOldMasterFailed(s: StepContext): Promise<StepResult> {
  const p = paramsOf(s);
  if (p.masterBack) return { detail: "the master is back; nothing marked", skipped: true };
  const store = s.ctx.store;
  const aggregateId = s.op.aggregateId!;
  const old = hostRecord(s, p.failedMaster);
  const reason = failedMasterReason(p, s.op.id, aggregateId);
  store.transaction(() => {
    store.hosts.setMembership(old.name, aggregateId, "FAILED");
    store.hosts.setEnabled(old.name, false, reason);
    store.hosts.setLiveness(old.name, "FAILED", reason);
    store.aggregates.touch(aggregateId, nowIso());
    recordEvent(s.ctx, { kind: "host.failed", aggregateId, host: old.name, operationId: s.op.id, message: `${old.name} is marked FAILED and disabled: ${reason}` });
  });
  return { detail: `${old.name} is FAILED (liveness and membership) and disabled` };
}

async function reportLostVms(s: StepContext): Promise<StepResult> {
  const p = paramsOf(s);
  if (p.masterBack) return { detail: "the master is back; no VM lost", skipped: true };
  const old = hostRecord(s, p.failedMaster);
  const next = hostRecord(s, p.newMaster!);
  let lost: LostVmRecord[] = [];
  if (old.uuid) {
    try {
      const { vms } = await s.agents.forHost(next).listVms({ hostUuid: old.uuid }, callOptions(s, 30_000));
      lost = vms
        .filter((v) => v.powerState === "Running" && !v.isControlDomain && !v.isTemplate)
        .map((v) => ({ vmUuid: v.uuid, vmName: v.name, host: old.name }));
    } catch (err) {
      // The new master's database no longer lists the old host: nothing resident on it.
      if (!(err instanceof ConnectError && err.code === Code.NotFound)) throw err;
    }
  }
  const store = s.ctx.store;
  const aggregateId = s.op.aggregateId!;
  store.transaction(() => {
    const aggregate = store.aggregates.get(aggregateId)!;
    const known = new Set(aggregate.lostVms.map((v) => v.vmUuid));
    const added = lost.filter((v) => !known.has(v.vmUuid));
    if (added.length === 0) return;
    store.aggregates.updatePool(aggregateId, { lostVms: [...aggregate.lostVms, ...added] }, nowIso());
    recordEvent(s.ctx, {
      kind: "pool.vms-lost",
      aggregateId,
      host: old.name,
      operationId: s.op.id,
      message: `${added.length} VM(s) were running on the failed ${old.name} and are lost until restarted: ${added.map((v) => `${v.vmName} (${v.vmUuid})`).join(", ")}`,
    });
  });
  return { detail: lost.length ? `${lost.length} VM(s) died with ${old.name}: ${lost.map((v) => v.vmName).join(", ")}` : `no VM was running on ${old.name}` };
}

/** How RecoverMaster runs. */
export const recoverMasterHandler: OperationKindHandler = {
  plan() {
    return ["confirm-master-failure", "choose-new-master", "emergency-transition", "recover-slaves", "record-new-master", "mark-old-master-failed", "report-lost-vms"];
  },
  mutating: new Set(["emergency-transition", "recover-slaves", "record-new-master", "mark-old-master-failed", "report-lost-vms"]),
  steps: {
    "confirm-master-failure": confirmFailure,
    "choose-new-master": chooseNewMaster,
    "emergency-transition": emergencyTransition,
    "recover-slaves": recoverSlaves,
    "record-new-master": recordNewMaster,
    "mark-old-master-failed": markOldMasterFailed,
    "report-lost-vms": reportLostVms,
  },
  runsInError: true,
  succeeded(s) {
    const store = s.ctx.store;
    const p = paramsOf(s);
    const aggregate = store.aggregates.get(s.op.aggregateId!)!;
    // The master-failure condition (or an earlier failed recovery) is over; a failure of another
    // operation still needs a repair.
    const errorOp = aggregate.lastError?.operationId ? store.operations.get(aggregate.lastError.operationId) : undefined;
    if (isMasterFailureError(aggregate.lastError) || errorOp?.kind === "RECOVER_MASTER") store.aggregates.updatePool(aggregate.id, { lastError: null }, nowIso());
    else if (aggregate.lastError) store.aggregates.updatePool(aggregate.id, { poolState: "ERROR" }, nowIso());
    recordEvent(s.ctx, {
      kind: p.masterBack ? "pool.master-back" : "pool.master-recovered",
      aggregateId: aggregate.id,
      host: p.masterBack ? p.failedMaster : (p.newMaster ?? null),
      operationId: s.op.id,
      message: p.masterBack
        ? `pool master ${p.failedMaster} of aggregate ${aggregate.id} is reachable again; nothing was changed`
        : `aggregate ${aggregate.id} recovered: ${p.newMaster} replaced the failed master ${p.failedMaster}`,
    });
  },
  ended(s, outcome) {
    if (outcome.failed) return; // the runner records the failure on the aggregate (ERROR); the detector does not retry it
    // Cancelled: the master is still failed unless it comes back; an operator decides what next.
    const p = paramsOf(s);
    const id = s.op.aggregateId!;
    const text = `${p.failedMaster}: the recovery ${s.op.id} was cancelled${outcome.changedPool ? " after it changed the pool" : ""}; run "aggctl aggregate-recover-master ${id} [--new-master HOST]"`;
    s.ctx.store.aggregates.updatePool(id, { poolState: "ERROR", lastError: masterFailureError(text, nowIso()) }, nowIso());
  },
};
