/**
 * EjectHost: pool.eject sent to the master, then a wait until the master no longer lists the host.
 * A XenAPI error read during that wait is answered UNAVAILABLE (error-mapping.ts afterAccepted).
 */
import { invalidArgument } from "../../shared/errors.js";
import { XapiUnreachableError } from "../xapi/errors.js";
import { notYet, ready, waitUntil } from "../xapi/wait.js";
import type { AgentContext } from "./agent-context.js";
import { poolInfo, type PoolInfoInit } from "./convert.js";
import { readCurrentPool } from "./current-pool.js";
import { Deadline } from "./deadline.js";
import { afterAccepted } from "./error-mapping.js";
import { hostByUuid, type PoolSnapshot } from "./pool-snapshot.js";
import { probePool } from "./pool-probe.js";

/** Ejects the host with hostUuid from the pool; succeeds at once when it is not a member. */
export async function ejectHost(ctx: AgentContext, hostUuid: string, signal: AbortSignal): Promise<PoolInfoInit> {
  const uuid = hostUuid.trim();
  if (!uuid) throw invalidArgument([{ field: "host_uuid", description: "required" }]);
  const deadline = new Deadline(ctx.timings.ejectTimeoutMs, `host ${uuid} to leave the pool`);
  const before = await readCurrentPool(ctx, { signal });
  const target = hostByUuid(before, uuid);
  if (!target) {
    ctx.log.info("eject: host is not a member", { host: uuid });
    return poolInfo(before);
  }
  // Ejecting the agent's own host: once it rebooted standalone, the pool session moves to its fresh pool.
  const self = ctx.identity.uuid === uuid;
  ctx.log.info("eject: calling pool.eject", { host: uuid, name: target.name, self });
  try {
    await ctx.xapi.pool.call("pool.eject", [target.ref], { signal, timeoutMs: deadline.remaining() });
  } catch (err) {
    if (!(err instanceof XapiUnreachableError) || err.neverSent || err.reason === "aborted") throw err;
    ctx.log.warn("eject: connection lost during the call; checking the outcome", { error: err.message });
  }
  let lastOfPool: PoolSnapshot = before;
  // From here on pool.eject was sent: a XenAPI error of the wait is no refusal of it.
  const sent = `pool.eject of ${target.name} was sent`;
  return waitUntil(
    { what: `the master to drop host ${uuid}`, timeoutMs: deadline.remaining(), intervalMs: ctx.timings.pollIntervalMs, signal },
    async (probe) => {
      const read = await probePool(ctx.xapi.pool, probe);
      if (!read.done) return read;
      const snapshot = read.value;
      if (snapshot.pool.uuid !== before.pool.uuid) {
        // The pool session now reads another pool: the own host left the one the eject went to.
        if (!self) return notYet(`this host is now in pool ${snapshot.pool.uuid}`);
        return ready(poolInfo({ pool: lastOfPool.pool, hosts: lastOfPool.hosts.filter((h) => h.uuid !== uuid) }));
      }
      lastOfPool = snapshot;
      return hostByUuid(snapshot, uuid) ? notYet("still listed") : ready(poolInfo(snapshot));
    },
  ).catch((err: unknown) => {
    throw afterAccepted(err, sent);
  });
}
