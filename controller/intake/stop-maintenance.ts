/** StopMaintenance: checks and the intent (host LEAVING maintenance) in one transaction, then schedules. */
import { failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { beginLeaveMaintenance, refusalOfMaintenanceStop } from "../model/lifecycle.js";
import type { OperationRecord } from "../model/records.js";
import { checkHostName, violations } from "../model/validation.js";
import { recordOperation } from "./accept-operation.js";
import { assertValid } from "./lookups.js";
import { effectiveMaxParallel, memberHost } from "./maintenance-checks.js";

/** Accepts StopMaintenance. */
export async function stopMaintenance(ctx: IntakeContext, hostName: string, rebalance: boolean): Promise<OperationRecord> {
  assertValid(violations(checkHostName(hostName, "host")));
  const { store } = ctx;
  const op = await store.transaction(async () => {
    const host = await memberHost(ctx, hostName, "STOP_MAINTENANCE");
    const refusal = refusalOfMaintenanceStop(host);
    if (refusal) throw failedPrecondition(refusal);
    await store.hosts.apply(hostName, beginLeaveMaintenance());
    return await recordOperation(ctx, "STOP_MAINTENANCE", host.aggregateId, hostName, { rebalance, maxParallel: await effectiveMaxParallel(ctx, host.aggregateId, 0) });
  });
  ctx.engine.schedule(op);
  return op;
}
