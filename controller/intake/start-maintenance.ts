/** StartMaintenance: checks, then either the dry-run plan (nothing recorded) or the intent (host ENTERING) in one transaction. */
import { failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { beginEvacuation, refusalOfMaintenanceStart } from "../model/lifecycle.js";
import { nowIso, type HostRecord, type OperationOf, type OperationRecord } from "../model/records.js";
import { describeBlockers, planHostEvacuation } from "../pool/evacuation-planning.js";
import { recordOperation } from "./accept-operation.js";
import { effectiveMaxParallel, memberHost } from "./maintenance-checks.js";
import { assertValid } from "./lookups.js";
import { checkHostName, violations } from "../model/validation.js";

/** What StartMaintenance asks for. */
export interface StartMaintenanceRequest {
  host: string;
  validateOnly: boolean;
  maxParallel: number;
  allowPartial: boolean;
}

/** A dry run: the plan and its blockers as an unsaved operation. */
async function dryRun(ctx: IntakeContext, host: HostRecord & { aggregateId: number }, maxParallel: number, allowPartial: boolean): Promise<OperationOf<"START_MAINTENANCE">> {
  const ev = await planHostEvacuation({ ctx, agents: ctx.agents, signal: ctx.engine.shutdown, remainingMs: () => 30_000 }, host.name, maxParallel, true);
  const now = nowIso();
  const blocked = ev.blockers.length > 0;
  return {
    seq: 0,
    id: "",
    kind: "START_MAINTENANCE",
    aggregateId: host.aggregateId,
    host: host.name,
    state: blocked ? "FAILED" : "SUCCEEDED",
    progress: 0,
    steps: [],
    params: { maxParallel, allowPartial },
    error: blocked ? { code: "FAILED_PRECONDITION", message: `${ev.blockers.length} of ${ev.vmsTotal} VM(s) cannot move: ${describeBlockers(ev)}` } : null,
    evacuation: ev,
    cancelRequested: false,
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
  };
}

/** Accepts StartMaintenance (or answers a dry run with the plan). */
export async function startMaintenance(ctx: IntakeContext, req: StartMaintenanceRequest): Promise<OperationRecord> {
  assertValid(violations(checkHostName(req.host, "host")));
  const { store } = ctx;
  const host = await memberHost(ctx, req.host, "START_MAINTENANCE");
  const refusal = refusalOfMaintenanceStart(host);
  if (refusal) throw failedPrecondition(refusal);
  const maxParallel = await effectiveMaxParallel(ctx, host.aggregateId, req.maxParallel);
  if (req.validateOnly) return dryRun(ctx, host, maxParallel, req.allowPartial);
  const op = await store.transaction(async () => {
    const fresh = await memberHost(ctx, req.host, "START_MAINTENANCE");
    const again = refusalOfMaintenanceStart(fresh);
    if (again) throw failedPrecondition(again);
    await store.hosts.apply(fresh.name, beginEvacuation());
    return await recordOperation(ctx, "START_MAINTENANCE", fresh.aggregateId, fresh.name, { maxParallel, allowPartial: req.allowPartial });
  });
  ctx.engine.schedule(op);
  return op;
}
