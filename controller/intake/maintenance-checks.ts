/** Checks StartMaintenance and StopMaintenance share. */
import { failedPrecondition, invalidArgument } from "../../shared/errors.js";
import type { ControllerContext } from "../context.js";
import { refusalWhileError } from "../model/lifecycle.js";
import type { HostRecord, OperationKindName } from "../model/records.js";
import { requireHost } from "./lookups.js";

/** Largest max_parallel accepted. */
export const maxParallelLimit = 32;

/** The host, checked to be a confirmed member of an aggregate that accepts new work of this kind. */
export async function memberHost(ctx: ControllerContext, name: string, kind: OperationKindName): Promise<HostRecord & { aggregateId: number }> {
  const host = await requireHost(ctx.store, name);
  if (host.aggregateId === null) throw failedPrecondition(`host "${name}" is in no aggregate, so there is no pool to move its VMs to`);
  if (host.membership !== "MEMBER") throw failedPrecondition(`host "${name}" is ${host.membership} in aggregate ${host.aggregateId}; wait for its operation to end`);
  const refusal = refusalWhileError((await ctx.store.aggregates.get(host.aggregateId))!, kind);
  if (refusal) throw failedPrecondition(refusal);
  await refuseWhileRolling(ctx, host.aggregateId);
  return host as HostRecord & { aggregateId: number };
}

/** FAILED_PRECONDITION while a rolling maintenance of the aggregate has not ended (it takes its hosts in and out of service, and may be paused). */
export async function refuseWhileRolling(ctx: Pick<ControllerContext, "store">, aggregateId: number): Promise<void> {
  const rolling = (await ctx.store.operations.unfinished(aggregateId)).find((o) => o.kind === "ROLLING_MAINTENANCE");
  if (rolling) throw failedPrecondition(`rolling maintenance ${rolling.id} is running on aggregate ${aggregateId}${rolling.kind === "ROLLING_MAINTENANCE" && rolling.params.pause && !rolling.params.pause.resumed ? " (paused: resume or cancel it)" : ""}; wait for it to end`);
}

/** The concurrency to use: the request's, else the aggregate's metadata "maintenance_max_parallel", else 2. */
export async function effectiveMaxParallel(ctx: ControllerContext, aggregateId: number, requested: number): Promise<number> {
  if (requested < 0 || requested > maxParallelLimit) {
    throw invalidArgument([{ field: "max_parallel", description: `max_parallel must be between 0 (default) and ${maxParallelLimit}` }]);
  }
  if (requested > 0) return requested;
  const fromMetadata = Number((await ctx.store.aggregates.get(aggregateId))?.metadata["maintenance_max_parallel"]);
  return Number.isInteger(fromMetadata) && fromMetadata > 0 && fromMetadata <= maxParallelLimit ? fromMetadata : 2;
}
