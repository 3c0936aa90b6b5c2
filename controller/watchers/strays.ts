/**
 * Hosts in no aggregate must be standalone in XenServer. A former master removed from its aggregate
 * while it was dead boots again as the master of its old pool database, which still lists the hosts
 * of that pool. For such a host (its agent heartbeats, it answers as master) the records of the other
 * hosts are destroyed through its agent (DestroyHost: host.destroy after VM.power_state_reset),
 * but only for hosts that cannot be part of its pool: not live there, registered with the controller,
 * and answering now that they run the same pool (same uuid) without following it — the master of
 * another copy, or a slave of another master. Anything else (a live member, an unknown host, a host in
 * no aggregate that is a slave) is reported once as `host.not-standalone`, never changed.
 */
import { sameAddress } from "../../shared/address.js";
import type { ControllerContext } from "../context.js";
import type { HostRecord } from "../model/records.js";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { heartbeatsFresh } from "../model/liveness.js";

const callTimeoutMs = 15_000;

/** Every registered host (paged). */
async function allHosts(ctx: ControllerContext): Promise<HostRecord[]> {
  const hosts: HostRecord[] = [];
  for (let afterName = ""; ; ) {
    const page = await ctx.store.hosts.list({ afterName, limit: 500 });
    if (page.length === 0) return hosts;
    hosts.push(...page);
    afterName = page.at(-1)!.name;
  }
}

/**
 * True when a registered host, asked now, says it runs the same pool (same uuid) without following
 * `master`: the master of another copy of it, or a slave of another master. A host that answers for
 * another pool is left alone: it may be joining this one (it answers as the master of its own pool
 * until its toolstack restarts) or it left long ago.
 */
async function runsTheSamePoolElsewhere(ctx: ControllerContext, other: HostRecord, master: HostRecord, poolUuid: string, signal: AbortSignal): Promise<boolean> {
  let info;
  try {
    info = await ctx.agents.forHost(other).getHostInfo({}, { signal, timeoutMs: callTimeoutMs });
  } catch {
    return false;
  }
  if (info.uuid !== other.uuid || info.poolUuid !== poolUuid) return false;
  if (info.role === HostRole.MASTER) return true;
  return info.role === HostRole.SLAVE && info.masterAddress !== "" && !sameAddress(info.masterAddress, master.xapiAddress);
}

/** Checks the hosts in no aggregate once; `announced` keeps what was already reported (per host) across passes. */
export async function makeStraysStandalone(ctx: ControllerContext, announced: Map<string, string>, signal: AbortSignal): Promise<void> {
  const hosts = await allHosts(ctx);
  const byUuid = new Map(hosts.filter((h) => h.uuid).map((h) => [h.uuid!, h]));
  for (const host of hosts) {
    if (signal.aborted) return;
    const facts = host.poolFacts;
    if (host.aggregateId !== null) announced.delete(host.name);
    if (host.aggregateId !== null || !facts || !facts.xapiReachable || !heartbeatsFresh(host, ctx.heartbeatIntervalMs)) continue;
    if (facts.role === "SLAVE") {
      await report(ctx, announced, host, `host ${host.name} is in no aggregate but is a slave of ${facts.masterAddress || "an unknown master"}; add it to that master's aggregate (then repair) or remove it from that pool`);
      continue;
    }
    if (facts.role !== "MASTER" || !host.uuid) continue;
    let pool;
    try {
      pool = await ctx.agents.forHost(host).getPoolInfo({}, { signal, timeoutMs: callTimeoutMs });
    } catch {
      continue; // tried again on the next pass
    }
    if (pool.masterUuid !== host.uuid) continue;
    const others = pool.members.filter((m) => m.uuid !== host.uuid);
    if (others.length === 0) {
      announced.delete(host.name);
      continue;
    }
    const destroyed: string[] = [];
    const kept: string[] = [];
    for (const m of others) {
      const known = byUuid.get(m.uuid);
      if (m.live || !known || !(await runsTheSamePoolElsewhere(ctx, known, host, pool.uuid, signal))) {
        kept.push(`${m.name} (${m.live ? "live" : known ? "not known to run a copy of this pool elsewhere" : "not registered"})`);
        continue;
      }
      try {
        await ctx.agents.forHost(host).destroyHost({ hostUuid: m.uuid }, { signal, timeoutMs: callTimeoutMs });
        destroyed.push(known.name);
      } catch (err) {
        kept.push(`${m.name} (host.destroy failed: ${err instanceof Error ? err.message : String(err)})`);
      }
    }
    if (destroyed.length > 0) {
      await ctx.store.appendEvent({
        kind: "host.made-standalone",
        host: host.name,
        message: `host ${host.name} is in no aggregate but runs as master of pool ${pool.uuid} with ${destroyed.join(", ")}, which left it: their records were destroyed there (host.destroy), so it is standalone`,
      });
    }
    if (kept.length > 0) await report(ctx, announced, host, `host ${host.name} is in no aggregate but is master of pool ${pool.uuid} with other hosts left as they are: ${kept.join(", ")}`);
  }
}

async function report(ctx: ControllerContext, announced: Map<string, string>, host: HostRecord, message: string): Promise<void> {
  if (announced.get(host.name) === message) return;
  announced.set(host.name, message);
  await ctx.store.appendEvent({ kind: "host.not-standalone", host: host.name, message });
}
