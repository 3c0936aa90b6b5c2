/** GetPoolInfo and ListVms: reads from the pool master. */
import { notFound } from "../../shared/errors.js";
import type { AgentContext } from "./agent-context.js";
import { hostUuids, isGuest, poolInfo, vmInfo, type PoolInfoInit, type VmInfoInit } from "./convert.js";
import { hostByUuid, readPool, readVms } from "./pool-snapshot.js";

/** The pool as the master reports it. */
export async function getPoolInfo(ctx: AgentContext, signal: AbortSignal): Promise<PoolInfoInit> {
  return poolInfo(await readPool(ctx.xapi.pool, { signal }));
}

/** VMs of the pool, optionally only those resident on one host, optionally with dom0s and templates. */
export async function listVms(ctx: AgentContext, hostUuid: string, includeSystem: boolean, signal: AbortSignal): Promise<VmInfoInit[]> {
  const snapshot = await readPool(ctx.xapi.pool, { signal });
  let hostRef: string | undefined;
  if (hostUuid) {
    hostRef = hostByUuid(snapshot, hostUuid)?.ref;
    if (!hostRef) throw notFound(`host ${hostUuid} is not a member of this pool`);
  }
  const uuids = hostUuids(snapshot);
  return (await readVms(ctx.xapi.pool, { signal }))
    .filter((vm) => (includeSystem ? !vm.isSnapshot : isGuest(vm)))
    .filter((vm) => hostRef === undefined || vm.residentOn === hostRef)
    .map((vm) => vmInfo(vm, uuids))
    .sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || (a.uuid ?? "").localeCompare(b.uuid ?? ""));
}
