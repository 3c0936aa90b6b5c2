/** AddHost: validate, check membership and zones, record the intent (host JOINING) — one transaction — then schedule. */
import { alreadyExists, failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { beginJoin, refusalWhileError } from "../model/lifecycle.js";
import { nowIso, type AggregateRecord, type HostRecord, type OperationRecord } from "../model/records.js";
import type { Store } from "../store/store.js";
import { recordOperation } from "./accept-operation.js";
import { requireAggregate, requireHost, validateHostRequest } from "./lookups.js";
import { refuseWhileRolling } from "./maintenance-checks.js";

/** Checks an AddHost request against the store (inside the caller's transaction). */
export async function checkAddHost(store: Store, aggregateId: number, hostName: string): Promise<{ aggregate: AggregateRecord; host: HostRecord }> {
  const aggregate = await requireAggregate(store, aggregateId);
  const host = await requireHost(store, hostName);
  if (host.aggregateId === aggregateId) throw alreadyExists(`host "${hostName}" is already in aggregate ${aggregateId}`);
  if (host.aggregateId !== null) throw alreadyExists(`host "${hostName}" is already in aggregate ${host.aggregateId}; a host can be in one aggregate only`);
  if (aggregate.availabilityZone && host.azHint && host.azHint !== aggregate.availabilityZone) {
    throw failedPrecondition(`host "${hostName}" asks for availability zone "${host.azHint}" but aggregate ${aggregateId} is in "${aggregate.availabilityZone}"`);
  }
  const refusal = refusalWhileError(aggregate, "ADD_HOST");
  if (refusal) throw failedPrecondition(refusal);
  await refuseWhileRolling({ store }, aggregateId);
  return { aggregate, host };
}

/** Accepts AddHost; returns the operation. */
export async function addHost(ctx: IntakeContext, rawAggregateId: bigint, hostName: string): Promise<OperationRecord> {
  const aggregateId = validateHostRequest(rawAggregateId, hostName);
  const { store } = ctx;
  const op = await store.transaction(async () => {
    const { aggregate, host } = await checkAddHost(store, aggregateId, hostName);
    if (!aggregate.availabilityZone && host.azHint) {
      if (aggregate.members.length > 0) {
        throw failedPrecondition(`host "${hostName}" asks for availability zone "${host.azHint}" but aggregate ${aggregateId} has no availability zone`);
      }
      await store.aggregates.updatePool(aggregateId, { availabilityZone: host.azHint, azFromHost: true }, nowIso());
    }
    await store.hosts.apply(hostName, beginJoin(aggregateId));
    return await recordOperation(ctx, "ADD_HOST", aggregateId, hostName, {});
  });
  ctx.engine.schedule(op);
  return op;
}
