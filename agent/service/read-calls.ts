/** GetPoolInfo and ListVms: reads from the pool master. */
import { notFound } from "../../shared/errors.js";
import type { AgentContext } from "./agent-context.js";
import { hostUuids, isGuest, poolInfo, vmInfo, type PoolInfoInit, type VmInfoInit } from "./convert.js";
import { readCurrentPool } from "./current-pool.js";
import { hostByUuid, readVms, readVmsOfHost } from "./pool-snapshot.js";

/** The pool (of the own host, right now) as its master reports it. */
export async function getPoolInfo(ctx: AgentContext, signal: AbortSignal): Promise<PoolInfoInit> {
  return poolInfo(await readCurrentPool(ctx, { signal }));
}

/**
 * VMs of the pool, optionally only those resident on one host (then with what keeps each from
 * being evacuated), optionally with dom0s and templates.
 */
export async function listVms(ctx: AgentContext, hostUuid: string, includeSystem: boolean, signal: AbortSignal): Promise<VmInfoInit[]> {
  const snapshot = await readCurrentPool(ctx, { signal });
  let hostRef: string | undefined;
  if (hostUuid) {
    hostRef = hostByUuid(snapshot, hostUuid)?.ref;
    if (!hostRef) throw notFound(`host ${hostUuid} is not a member of this pool`);
  }
  const uuids = hostUuids(snapshot);
  const vms = hostRef ? await readVmsOfHost(ctx.xapi.pool, hostRef, ctx.log, { signal }) : await readVms(ctx.xapi.pool, { signal });
  return vms
    .filter((vm) => (includeSystem ? !vm.isSnapshot : isGuest(vm)))
    .filter((vm) => hostRef === undefined || vm.residentOn === hostRef)
    .map((vm) => vmInfo(vm, uuids, (text) => ctx.credentials.scrub(text)))
    .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || (a.uuid ?? "").localeCompare(b.uuid ?? ""));
}
