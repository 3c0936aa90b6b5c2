/**
 * RecoverMaster: by an operator (the failure is confirmed through the agents first) or by the
 * master-failure detector (which passes what it confirmed); recorded in one transaction, then
 * scheduled. Allowed while the aggregate is in ERROR: it is the remedy.
 */
import { failedPrecondition, unavailable } from "../../shared/errors.js";
import type { AgentLookup, ControllerContext, IntakeContext } from "../context.js";
import type { AggregateRecord, HostRecord, OperationRecord, RecoverMasterParams } from "../model/records.js";
import { nowIso } from "../model/records.js";
import { checkHostName, violations } from "../model/validation.js";
import { askMembers, describeEvidence, probeMaster, survivingMembers, verdictOf, type MasterFailure } from "../pool/master-assessment.js";
import type { Store } from "../store/store.js";
import { recordOperation } from "./accept-operation.js";
import { assertValid, idFrom, requireAggregate, requireHost } from "./lookups.js";

/** Synchronous checks of RecoverMaster (repeated in the accepting transaction). */
export async function checkRecoverMaster(store: Store, aggregateId: number, newMaster?: string): Promise<{ aggregate: AggregateRecord; master: HostRecord }> {
  if (newMaster) assertValid(violations(checkHostName(newMaster, "new_master")));
  const aggregate = await requireAggregate(store, aggregateId);
  if (!aggregate.masterHost) throw failedPrecondition(`aggregate ${aggregateId} has no pool master (it has no hosts), so there is nothing to recover`);
  const running = (await store.operations.unfinished(aggregateId)).find((o) => o.kind === "RECOVER_MASTER");
  if (running) throw failedPrecondition(`operation ${running.id} is already recovering the pool master of aggregate ${aggregateId}`);
  const master = await store.hosts.get(aggregate.masterHost);
  if (!master) throw failedPrecondition(`the pool master "${aggregate.masterHost}" of aggregate ${aggregateId} is not registered`);
  if (newMaster) {
    const host = await requireHost(store, newMaster);
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
  agents: AgentLookup,
  aggregateId: number,
  newMaster: string | undefined,
  signal: AbortSignal,
): Promise<MasterFailure> {
  const { aggregate, master } = await checkRecoverMaster(ctx.store, aggregateId, newMaster);
  const probe = await probeMaster(ctx, agents, master, { signal, timeoutMs: 10_000 });
  if (verdictOf(probe) === "healthy") {
    throw failedPrecondition(
      `the pool master ${master.name} of aggregate ${aggregateId} has not failed (${probe.answers ? probe.detail : probe.heartbeatDetail}); ` +
        `to move the master role, use RemoveHost or StartMaintenance on it`,
    );
  }
  const members = await askMembers(agents, aggregate, await survivingMembers(ctx, aggregate), { signal, timeoutMs: 10_000 });
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
export async function recoverMasterParams(
  ctx: ControllerContext,
  aggregateId: number,
  failure: MasterFailure,
  trigger: RecoverMasterParams["trigger"],
  newMaster: string | undefined,
): Promise<RecoverMasterParams> {
  const aggregate = (await ctx.store.aggregates.get(aggregateId))!;
  const hints = Object.fromEntries((await survivingMembers(ctx, aggregate)).map((h) => [h.name, ctx.knownCapacity.freeBytes(h)]));
  const params: RecoverMasterParams = {
    failedMaster: failure.master,
    evidence: failure.evidence,
    trigger,
    ...(newMaster ? { requestedNewMaster: newMaster } : {}),
    freeMemoryHints: hints,
    detectedAt: nowIso(),
  };
  return params;
}

/** Accepts RecoverMaster; `detected` is the detector's confirmed failure (an operator's request is confirmed here). */
export async function recoverMaster(ctx: IntakeContext, rawId: bigint | number, newMaster?: string, detected?: MasterFailure): Promise<OperationRecord> {
  const aggregateId = typeof rawId === "number" ? rawId : idFrom(rawId);
  const wanted = newMaster || undefined;
  const failure = detected ?? (await confirmMasterFailure(ctx, ctx.agents, aggregateId, wanted, ctx.engine.shutdown));
  const op = await ctx.store.transaction(async () => {
    const { master } = await checkRecoverMaster(ctx.store, aggregateId, wanted);
    if (master.name !== failure.master) throw failedPrecondition(`the pool master of aggregate ${aggregateId} is ${master.name} now, not the failed ${failure.master}`);
    const params = await recoverMasterParams(ctx, aggregateId, failure, detected ? "detector" : "operator", wanted);
    return await recordOperation(ctx, "RECOVER_MASTER", aggregateId, failure.master, params);
  });
  ctx.engine.schedule(op);
  return op;
}
