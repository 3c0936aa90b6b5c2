/** Accepting maintenance requests: checks, dry runs, and the recorded intent. */
import { failedPrecondition, invalidArgument } from "../../shared/errors.js";
import type { ControllerContext, ResidentVm } from "../context.js";
import { requireHost } from "./aggregates.js";
import { nowIso, type HostRecord, type OperationRecord } from "../model/records.js";
import type { AgentDirectory } from "../pool/agent-directory.js";
import { describeBlockers, planHostEvacuation, poolContacts } from "../pool/evacuation-planning.js";
import { callOptions } from "../pool/pool-view.js";

/** Largest max_parallel accepted. */
export const maxParallelLimit = 32;

/** The host, checked to be a confirmed member of an aggregate. */
export function memberHost(ctx: ControllerContext, name: string): HostRecord & { aggregateId: number } {
  const host = requireHost(ctx.store, name);
  if (host.aggregateId === null) throw failedPrecondition(`host "${name}" is in no aggregate, so there is no pool to move its VMs to`);
  if (host.membership !== "MEMBER") throw failedPrecondition(`host "${name}" is ${host.membership} in aggregate ${host.aggregateId}; wait for its operation to end`);
  return host as HostRecord & { aggregateId: number };
}

/** The concurrency to use: the request's, else the aggregate's metadata "maintenance_max_parallel", else 2. */
export function effectiveMaxParallel(ctx: ControllerContext, aggregateId: number, requested: number): number {
  if (requested < 0 || requested > maxParallelLimit) {
    throw invalidArgument([{ field: "max_parallel", description: `max_parallel must be between 0 (default) and ${maxParallelLimit}` }]);
  }
  if (requested > 0) return requested;
  const fromMetadata = Number(ctx.store.aggregates.get(aggregateId)?.metadata["maintenance_max_parallel"]);
  return Number.isInteger(fromMetadata) && fromMetadata > 0 && fromMetadata <= maxParallelLimit ? fromMetadata : 2;
}

/** A dry run: the plan and its blockers, recorded nowhere. */
export async function dryRunEvacuation(ctx: ControllerContext, agents: AgentDirectory, host: HostRecord & { aggregateId: number }, maxParallel: number, signal: AbortSignal): Promise<OperationRecord> {
  const ev = await planHostEvacuation({ ctx, agents, signal, remainingMs: () => 30_000 }, host.name, maxParallel, true);
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
    params: {},
    error: blocked ? { code: "FAILED_PRECONDITION", message: `${ev.blockers.length} of ${ev.vmsTotal} VM(s) cannot move: ${describeBlockers(ev)}` } : null,
    evacuation: ev,
    cancelRequested: false,
    createdAt: now,
    updatedAt: now,
    finishedAt: now,
  };
}

/** VMs resident on a host as its pool reports them, with their maintenance origin. */
export async function residentVms(ctx: ControllerContext, agents: AgentDirectory, name: string): Promise<ResidentVm[]> {
  const host = requireHost(ctx.store, name);
  const contactName = host.aggregateId !== null ? (poolContacts({ ctx }, host.aggregateId)[0] ?? name) : name;
  const contact = requireHost(ctx.store, contactName);
  const { vms } = await agents.forHost(contact).listVms({ hostUuid: host.uuid ?? "" }, callOptions({ signal: AbortSignal.timeout(5000), remainingMs: () => 5000 }));
  const guests = vms.filter((v) => !v.isControlDomain && !v.isTemplate);
  const origins = ctx.store.vmOrigins.byVm(guests.map((v) => v.uuid));
  return guests.map((v) => ({
    uuid: v.uuid,
    name: v.name,
    powerState: v.powerState,
    memoryBytes: Number(v.memoryBytes),
    originHost: origins.get(v.uuid)?.movedTo === name ? origins.get(v.uuid)!.originHost : "",
  }));
}
