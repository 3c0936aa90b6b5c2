/**
 * RecoverMaster: after the pool master failed, promote a surviving member
 * (pool.emergency_transition_to_master through its agent), repoint the other members at it
 * (pool.recover_slaves), record the new master, mark the old one FAILED and report the VMs that
 * died with it. Every step checks the real pool first, so a resumed operation repeats nothing.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { Refused, RetryLater } from "../engine/failures.js";
import type { OperationSpec, OperationView, StepContext, StepResult, StepSpec } from "../engine/step-spec.js";
import { errorAfterRemedy, markFailed, masterFailureCondition } from "../model/lifecycle.js";
import { nowIso, type LostVmRecord, type RecoverMasterParams } from "../model/records.js";
import { isRunningGuest } from "../pool/guests.js";
import { askMembers, describeEvidence, probeMaster, survivingMembers } from "../pool/master-assessment.js";
import { chooseMaster } from "../pool/master-choice.js";
import { callOptions, hostRecord } from "../pool/pool-view.js";

type Ctx = StepContext<"RECOVER_MASTER">;
type View = Pick<OperationView<"RECOVER_MASTER">, "ctx" | "op">;

const aggregateOf = async (s: View) => (await s.ctx.store.aggregates.get(s.op.aggregateId!))!;
const probeTimeout = (s: Pick<Ctx, "remainingMs">) => Math.max(1, Math.min(10_000, s.remainingMs()));

/** The member already promoted, if a member reports being the master of the pool. */
async function memberReports(s: Ctx) {
  const aggregate = await aggregateOf(s);
  return askMembers(s.agents, aggregate, await survivingMembers(s.ctx, aggregate), { signal: s.signal, timeoutMs: probeTimeout(s) });
}

async function confirmFailure(s: Ctx): Promise<StepResult> {
  const p = s.op.params;
  const master = await hostRecord(s, p.failedMaster);
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

async function chooseNewMaster(s: Ctx): Promise<StepResult> {
  const p = s.op.params;
  if (p.masterBack) return { detail: "the master is back; no new master needed", skipped: true };
  const members = await memberReports(s);
  const promoted = members.find((m) => m.promoted);
  if (promoted) {
    if (p.requestedNewMaster && p.requestedNewMaster !== promoted.host) {
      throw new Refused(`${promoted.host} was already promoted to pool master, so ${p.requestedNewMaster} cannot be; recover with ${promoted.host} (omit --new-master)`);
    }
    p.newMaster = promoted.host;
    return { detail: `${promoted.host} was already promoted to pool master` };
  }
  if (p.requestedNewMaster) {
    const report = members.find((m) => m.host === p.requestedNewMaster);
    if (!report?.info) throw new RetryLater(`the agent of ${p.requestedNewMaster} does not answer (${report?.detail ?? "not a member"})`);
    if (report.view !== "confirms") throw new Refused(`${p.requestedNewMaster} cannot take over: ${report.detail}`);
    p.newMaster = p.requestedNewMaster;
    return { detail: `${p.newMaster} takes over as pool master (named by the operator)` };
  }
  const records = new Map((await survivingMembers(s.ctx, await aggregateOf(s))).map((h) => [h.name, h]));
  const freeOf = (name: string) => p.freeMemoryHints[name] || records.get(name)?.capacity?.memoryFreeBytes || 0;
  const candidates = members.map((m) => {
    const h = records.get(m.host);
    return { name: m.host, live: m.view === "confirms" && !!m.info, enabled: h?.enabled === true, inMaintenance: !h || h.maintenance !== "NONE", freeBytes: freeOf(m.host) };
  });
  const chosen = chooseMaster(candidates, { fallbackToAnyLive: false });
  if (!chosen) {
    const why = members.map((m) => m.detail).join("; ") || "it has no other members";
    throw new Refused(
      `no enabled, live member of aggregate ${s.op.aggregateId} can take over as pool master (${why}); ` +
        `name one with "aggctl aggregate-recover-master ${s.op.aggregateId} --new-master HOST"`,
    );
  }
  p.newMaster = chosen;
  const free = freeOf(chosen);
  return { detail: `${chosen} takes over as pool master (enabled, answers${free ? `, ${Math.round(free / 2 ** 20)} MiB free` : ""})` };
}

async function emergencyTransition(s: Ctx): Promise<StepResult> {
  const p = s.op.params;
  if (p.masterBack) return { detail: "the master is back; nothing promoted", skipped: true };
  const aggregate = await aggregateOf(s);
  const next = await hostRecord(s, p.newMaster!);
  const agent = s.agents.forHost(next);
  const info = await agent.getHostInfo({}, callOptions(s, 15_000));
  if (info.role === HostRole.MASTER && info.poolUuid === aggregate.poolUuid) return { detail: `${next.name} is already the pool master`, skipped: true };
  if (info.role === HostRole.SLAVE && info.poolUuid !== "" && !info.emergencyMode) {
    // It reads the pool through a master again: the old one came back before anything changed.
    p.masterBack = true;
    return { detail: `${next.name} reaches its master ${info.masterAddress} again; nothing promoted`, skipped: true };
  }
  const after = await agent.emergencyTransitionToMaster({}, callOptions(s));
  if (after.role !== HostRole.MASTER) throw new RetryLater(`${next.name} did not become a master (role ${HostRole[after.role]})`);
  await s.ctx.store.appendEvent({
    kind: "pool.master-promoted",
    aggregateId: aggregate.id,
    host: next.name,
    operationId: s.op.id,
    message: `${next.name} was promoted to pool master of aggregate ${aggregate.id} (emergency transition; ${p.failedMaster} failed)`,
  });
  return { detail: `${next.name} is the pool master now (pool.emergency_transition_to_master)` };
}

async function recoverSlaves(s: Ctx): Promise<StepResult> {
  const p = s.op.params;
  if (p.masterBack) return { detail: "the master is back; nothing to repoint", skipped: true };
  const aggregate = await aggregateOf(s);
  const next = await hostRecord(s, p.newMaster!);
  const result = await s.agents.forHost(next).recoverSlaves({}, callOptions(s));
  const byUuid = new Map((await s.ctx.store.hosts.members(aggregate.id)).map((h) => [h.uuid, h.name]));
  const recovered = result.recoveredHostUuids.map((u) => byUuid.get(u) ?? u);
  p.recovered = recovered;
  const members = (await survivingMembers(s.ctx, aggregate)).filter((h) => h.name !== next.name);
  const poolMembers = new Map((result.pool?.members ?? []).map((m) => [m.uuid, m]));
  const following = members.filter((h) => poolMembers.get(h.uuid ?? "")?.live).map((h) => h.name);
  const missing = members.filter((h) => !following.includes(h.name)).map((h) => h.name);
  await s.ctx.store.appendEvent({
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

async function recordNewMaster(s: Ctx): Promise<StepResult> {
  const p = s.op.params;
  if (p.masterBack) return { detail: "the master is back; record unchanged", skipped: true };
  const aggregate = await aggregateOf(s);
  const next = await hostRecord(s, p.newMaster!);
  if (aggregate.masterHost === next.name) return { detail: `${next.name} is recorded as the pool master`, skipped: true };
  await s.ctx.store.transaction(async () => {
    await s.ctx.store.aggregates.updatePool(aggregate.id, { masterHost: next.name }, nowIso());
    await s.ctx.store.appendEvent({
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

async function markOldMasterFailed(s: Ctx): Promise<StepResult> {
  const p = s.op.params;
  if (p.masterBack) return { detail: "the master is back; nothing marked", skipped: true };
  const store = s.ctx.store;
  const aggregateId = s.op.aggregateId!;
  const old = await hostRecord(s, p.failedMaster);
  const reason = failedMasterReason(p, s.op.id, aggregateId);
  await store.transaction(async () => {
    await store.hosts.apply(old.name, markFailed(reason));
    await store.aggregates.touch(aggregateId, nowIso());
    await s.ctx.store.appendEvent({ kind: "host.failed", aggregateId, host: old.name, operationId: s.op.id, message: `${old.name} is marked FAILED and disabled: ${reason}` });
  });
  return { detail: `${old.name} is FAILED (liveness and membership) and disabled` };
}

async function reportLostVms(s: Ctx): Promise<StepResult> {
  const p = s.op.params;
  if (p.masterBack) return { detail: "the master is back; no VM lost", skipped: true };
  const old = await hostRecord(s, p.failedMaster);
  const next = await hostRecord(s, p.newMaster!);
  let lost: LostVmRecord[] = [];
  if (old.uuid) {
    try {
      const { vms } = await s.agents.forHost(next).listVms({ hostUuid: old.uuid }, callOptions(s, 30_000));
      lost = vms
        .filter(isRunningGuest)
        .map((v) => ({ vmUuid: v.uuid, vmName: v.name, host: old.name }));
    } catch (err) {
      // The new master's database no longer lists the old host: nothing resident on it.
      if (!(err instanceof ConnectError && err.code === Code.NotFound)) throw err;
    }
  }
  const store = s.ctx.store;
  const aggregateId = s.op.aggregateId!;
  await store.transaction(async () => {
    const aggregate = (await store.aggregates.get(aggregateId))!;
    const known = new Set(aggregate.lostVms.map((v) => v.vmUuid));
    const added = lost.filter((v) => !known.has(v.vmUuid));
    if (added.length === 0) return;
    await store.aggregates.updatePool(aggregateId, { lostVms: [...aggregate.lostVms, ...added] }, nowIso());
    await s.ctx.store.appendEvent({
      kind: "pool.vms-lost",
      aggregateId,
      host: old.name,
      operationId: s.op.id,
      message: `${added.length} VM(s) were running on the failed ${old.name} and are lost until restarted: ${added.map((v) => `${v.vmName} (${v.vmUuid})`).join(", ")}`,
    });
  });
  return { detail: lost.length ? `${lost.length} VM(s) died with ${old.name}: ${lost.map((v) => v.vmName).join(", ")}` : `no VM was running on ${old.name}` };
}

const steps = {
  confirm: { name: "confirm-master-failure", mutating: false, run: confirmFailure },
  choose: { name: "choose-new-master", mutating: false, run: chooseNewMaster },
  promote: { name: "emergency-transition", mutating: true, run: emergencyTransition },
  repoint: { name: "recover-slaves", mutating: true, run: recoverSlaves },
  record: { name: "record-new-master", mutating: true, run: recordNewMaster },
  markOld: { name: "mark-old-master-failed", mutating: true, run: markOldMasterFailed },
  lostVms: { name: "report-lost-vms", mutating: true, run: reportLostVms },
} satisfies Record<string, StepSpec<"RECOVER_MASTER">>;

/** How RecoverMaster runs. */
export const recoverMasterSpec: OperationSpec<"RECOVER_MASTER"> = {
  kind: "RECOVER_MASTER",
  steps: Object.values(steps),
  async plan() {
    return Object.values(steps);
  },
  failureBreaksPool: true,
  async succeeded(s) {
    const store = s.ctx.store;
    const p = s.op.params;
    const aggregate = await aggregateOf(s);
    // The master-failure condition (or an earlier failed recovery) is over; a failure of another operation still needs a repair.
    const failedOp = aggregate.lastError?.operationId ? await store.operations.get(aggregate.lastError.operationId) : undefined;
    await store.aggregates.setError(aggregate.id, errorAfterRemedy(aggregate.lastError, failedOp?.kind), nowIso());
    await store.events.append({
      kind: p.masterBack ? "pool.master-back" : "pool.master-recovered",
      aggregateId: aggregate.id,
      host: p.masterBack ? p.failedMaster : (p.newMaster ?? null),
      operationId: s.op.id,
      message: p.masterBack
        ? `pool master ${p.failedMaster} of aggregate ${aggregate.id} is reachable again; nothing was changed`
        : `aggregate ${aggregate.id} recovered: ${p.newMaster} replaced the failed master ${p.failedMaster}`,
    });
  },
  async ended(s, outcome) {
    if (outcome.failed) return; // the runner records the failure on the aggregate (ERROR); the detector does not retry it
    // Cancelled: the master is still failed unless it comes back; an operator decides what next.
    const p = s.op.params;
    const id = s.op.aggregateId!;
    const text = `${p.failedMaster}: the recovery ${s.op.id} was cancelled${outcome.changedPool ? " after it changed the pool" : ""}; run "aggctl aggregate-recover-master ${id} [--new-master HOST]"`;
    await s.ctx.store.aggregates.setError(id, masterFailureCondition(text, nowIso()), nowIso());
  },
};
