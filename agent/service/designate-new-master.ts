/**
 * DesignateNewMaster: pool.designate_new_master sent to the master, then a wait until the new
 * master answers a login as master and reports itself as the pool's master, and the old master
 * answers HOST_IS_SLAVE naming it (both restarted). A XenAPI error read during that wait is
 * answered UNAVAILABLE (error-mapping.ts afterAccepted).
 */
import { invalidArgument, notFound } from "../../shared/errors.js";
import { XapiUnreachableError } from "../xapi/errors.js";
import { notYet, ready, waitUntil } from "../xapi/wait.js";
import type { AgentContext } from "./agent-context.js";
import { poolInfo, type PoolInfoInit } from "./convert.js";
import { Deadline, sameAddress } from "./deadline.js";
import { afterAccepted } from "./error-mapping.js";
import { readCurrentPool } from "./current-pool.js";
import { hostByUuid, masterOf } from "./pool-snapshot.js";
import { probePool } from "./pool-probe.js";

/** Hands the master role to hostUuid; no-op when it already is the master. */
export async function designateNewMaster(ctx: AgentContext, hostUuid: string, signal: AbortSignal): Promise<PoolInfoInit> {
  const uuid = hostUuid.trim();
  if (!uuid) throw invalidArgument([{ field: "host_uuid", description: "required" }]);
  const deadline = new Deadline(ctx.timings.designateTimeoutMs, `host ${uuid} to become the master`);
  const before = await readCurrentPool(ctx, { signal });
  const target = hostByUuid(before, uuid);
  if (!target) throw notFound(`host ${uuid} is not a member of this pool`);
  const oldMaster = masterOf(before);
  if (target.ref === before.pool.masterRef) {
    ctx.log.info("designate: already the master", { host: uuid });
    return poolInfo(before);
  }
  ctx.log.info("designate: calling pool.designate_new_master", { host: uuid, name: target.name });
  try {
    await ctx.xapi.pool.call("pool.designate_new_master", [target.ref], { signal, timeoutMs: deadline.remaining() });
  } catch (err) {
    if (!(err instanceof XapiUnreachableError) || err.neverSent || err.reason === "aborted") throw err;
    ctx.log.warn("designate: connection lost during the call; checking the outcome", { error: err.message });
  }

  const newMasterUrl = ctx.xapi.endpointOf(target.address);
  // From here on the designation was sent: a XenAPI error of the wait is no refusal of it.
  const sent = `pool.designate_new_master of ${target.name} was sent`;
  return waitUntil(
    { what: `${target.name} (${target.address}) to answer as the pool master`, timeoutMs: deadline.remaining(), intervalMs: ctx.timings.pollIntervalMs, signal },
    async (probe) => {
      const state = await ctx.xapi.endpointState(newMasterUrl, { signal: probe });
      if (state.kind !== "master") return notYet(`new master answers as ${state.kind}`);
      if (oldMaster && oldMaster.address && !sameAddress(oldMaster.address, target.address)) {
        const old = await ctx.xapi.endpointState(ctx.xapi.endpointOf(oldMaster.address), { signal: probe });
        if (old.kind !== "slave" || !sameAddress(old.masterAddress, target.address)) return notYet(`old master answers as ${old.kind}`);
      }
      const read = await probePool(ctx.xapi.pool, probe);
      if (!read.done) return read;
      return masterOf(read.value)?.uuid === uuid ? ready(poolInfo(read.value)) : notYet("pool reports another master");
    },
  ).catch((err: unknown) => {
    throw afterAccepted(err, sent);
  });
}
