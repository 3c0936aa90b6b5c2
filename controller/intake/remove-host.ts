/**
 * RemoveHost: the host must be a disabled member running no VMs (asked from its pool); records the
 * intent (host LEAVING) in one transaction, then schedules. A FAILED member (a fenced former
 * master) can be removed too; its agent may be gone, so its VMs are not asked for. The last live
 * member waits until the FAILED ones are removed.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { agentUnavailable } from "../../shared/agent-errors.js";
import { failedPrecondition, notFound } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { beginLeave, refusalWhileError } from "../model/lifecycle.js";
import type { AggregateRecord, HostRecord, OperationRecord } from "../model/records.js";
import { isRunningGuest } from "../pool/guests.js";
import type { Store } from "../store/store.js";
import { recordOperation } from "./accept-operation.js";
import { requireAggregate, requireHost, validateHostRequest } from "./lookups.js";
import { refuseWhileRolling } from "./maintenance-checks.js";

/** Checks a RemoveHost request against the store (inside the caller's transaction). */
export async function checkRemoveHost(store: Store, aggregateId: number, hostName: string): Promise<{ aggregate: AggregateRecord; host: HostRecord }> {
  const aggregate = await requireAggregate(store, aggregateId);
  const host = await requireHost(store, hostName);
  if (host.aggregateId !== aggregateId) throw notFound(`host "${hostName}" is not in aggregate ${aggregateId}`);
  const refusal = refusalWhileError(aggregate, "REMOVE_HOST");
  if (refusal) throw failedPrecondition(refusal);
  await refuseWhileRolling({ store }, aggregateId);
  return { aggregate, host };
}

/**
 * Why the last live member may not leave while a FAILED former master is still recorded, or undefined:
 * its pool would be left holding the dead master's record (and the master, should it come back,
 * would run that pool with nobody fencing it). RemoveHost of the FAILED host destroys its record in
 * the pool through this member (or ejects it if it is back), so it must go first.
 */
async function refusalOfLastMember(store: Store, aggregateId: number, host: HostRecord): Promise<string | undefined> {
  if (host.membership !== "MEMBER") return undefined;
  const others = (await store.hosts.members(aggregateId)).filter((h) => h.name !== host.name);
  if (others.some((h) => h.membership === "MEMBER" || h.membership === "LEAVING")) return undefined;
  const failed = others.filter((h) => h.membership === "FAILED").map((h) => h.name);
  if (failed.length === 0) return undefined;
  return (
    `host "${host.name}" is the last live member of aggregate ${aggregateId}, but its FAILED former master ${failed.join(", ")} is still recorded: ` +
    `remove it first (${failed.map((n) => `"aggctl aggregate-remove-host ${aggregateId} ${n}"`).join(", ")}), which destroys its record in the pool ` +
    `(or ejects it if it is back), then remove ${host.name}`
  );
}

/** The running guests of a host as its agent reports them (none asked for a FAILED member whose agent is gone). */
async function runningGuests(ctx: IntakeContext, host: HostRecord): Promise<string[]> {
  try {
    const info = await ctx.agents.forHost(host).getHostInfo({ includeVms: true }, { timeoutMs: 15_000, signal: ctx.engine.shutdown });
    return info.vms.filter(isRunningGuest).map((v) => `${v.name} (${v.uuid})`);
  } catch (err) {
    if (err instanceof ConnectError && err.code !== Code.Unavailable && err.code !== Code.DeadlineExceeded) throw err;
    if (host.membership === "FAILED") return [];
    throw agentUnavailable(`cannot check the VMs of "${host.name}": its agent did not answer (${err instanceof Error ? err.message : String(err)})`, [host.name], err);
  }
}

/** Accepts RemoveHost; returns the operation. */
export async function removeHost(ctx: IntakeContext, rawAggregateId: bigint, hostName: string): Promise<OperationRecord> {
  const aggregateId = validateHostRequest(rawAggregateId, hostName);
  const { store } = ctx;
  const { host } = await checkRemoveHost(store, aggregateId, hostName);
  if (host.membership !== "MEMBER" && host.membership !== "FAILED") {
    throw failedPrecondition(`host "${hostName}" is ${host.membership} in aggregate ${aggregateId}; wait for its operation to end`);
  }
  if (host.enabled) throw failedPrecondition(`host "${hostName}" is enabled; disable it first ("aggctl host-disable ${hostName}") so no new VMs land on it`);
  const lastMember = await refusalOfLastMember(store, aggregateId, host);
  if (lastMember) throw failedPrecondition(lastMember);
  const running = await runningGuests(ctx, host);
  if (running.length > 0) {
    throw failedPrecondition(`host "${hostName}" still runs ${running.length} VM(s): ${running.join(", ")}; migrate them away or use host maintenance first`);
  }
  const prior = host.membership;
  const op = await store.transaction(async () => {
    const fresh = await checkRemoveHost(store, aggregateId, hostName);
    if (fresh.host.membership !== prior) throw failedPrecondition(`host "${hostName}" is ${fresh.host.membership}; wait for its operation to end`);
    const again = await refusalOfLastMember(store, aggregateId, fresh.host);
    if (again) throw failedPrecondition(again);
    await store.hosts.apply(hostName, beginLeave());
    return await recordOperation(ctx, "REMOVE_HOST", aggregateId, hostName, { priorMembership: prior });
  });
  ctx.engine.schedule(op);
  return op;
}
