/**
 * DestroyHost: forgets a dead member in the pool database (host.destroy, through the pool master).
 * XenServer refuses it for a live host (HOST_IS_LIVE) and while VMs are recorded as resident on
 * it (HOST_HAS_RESIDENT_VMS): the guests that died with it are reset to Halted first
 * (VM.power_state_reset), so they can be started elsewhere. Succeeds at once when the pool no
 * longer lists the host.
 */
import { failedPrecondition, invalidArgument } from "../../shared/errors.js";
import type { AgentContext } from "./agent-context.js";
import { isGuest, poolInfo, type PoolInfoInit } from "./convert.js";
import { readCurrentPool } from "./current-pool.js";
import { hostByUuid, readVms } from "./pool-snapshot.js";

/** Destroys the record of the dead member with hostUuid. */
export async function destroyHost(ctx: AgentContext, hostUuid: string, signal: AbortSignal): Promise<PoolInfoInit> {
  const uuid = hostUuid.trim();
  if (!uuid) throw invalidArgument([{ field: "host_uuid", description: "required" }]);
  const before = await readCurrentPool(ctx, { signal });
  const target = hostByUuid(before, uuid);
  if (!target) return poolInfo(before);
  if (target.metrics.live || target.ref === before.pool.masterRef) {
    throw failedPrecondition(`host ${target.name} (${uuid}) is live in its pool: eject it (EjectHost) instead of destroying its record`);
  }
  const residents = (await readVms(ctx.xapi.pool, { signal })).filter((vm) => isGuest(vm) && vm.residentOn === target.ref && vm.powerState !== "Halted");
  for (const vm of residents) {
    await ctx.xapi.pool.call("VM.power_state_reset", [vm.ref], { signal });
    ctx.log.info("destroy: reset the power state of a VM of the dead host", { host: target.name, vm: vm.name });
  }
  await ctx.xapi.pool.call("host.destroy", [target.ref], { signal });
  ctx.log.info("destroy: host record destroyed", { host: target.name, uuid });
  return poolInfo(await readCurrentPool(ctx, { signal }));
}
