/**
 * Stale followers: a live member whose host follows another master than the pool's, e.g. one that
 * was down while the master role was handed over and booted following the old master (its
 * pool.conf), which no longer serves the pool. Found from the agents' heartbeats (the master the
 * host follows, agent/service/own-host.ts) and repointed by the reconciler at the recorded master
 * with fencing's repointing (fencing.ts `fence`: pool.emergency_reset_master through the host's
 * agent, decided on its live answer). Hosts in emergency mode are the detector's (fencing.ts).
 */
import { sameAddress } from "../../shared/address.js";
import type { PoolInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { ControllerContext } from "../context.js";
import type { AggregateRecord, HostRecord } from "../model/records.js";
import { heartbeatsFresh } from "../model/liveness.js";
import { fence } from "./fencing.js";

/** One member that follows another master. */
export interface StaleFollower {
  host: HostRecord;
  finding: string;
}

/** Deadlines of the live probe and of the repointing (a toolstack restart). */
const probeTimeoutMs = 10_000;
const repointTimeoutMs = 10 * 60_000;

/**
 * Members other than the recorded master that report, in a fresh heartbeat with a reachable XAPI,
 * being a slave of an address that is neither the recorded master's nor the pool master's. Only
 * while the pool's master is the recorded one (otherwise that is the drift to report).
 */
export function staleFollowers(ctx: ControllerContext, aggregate: AggregateRecord, recorded: readonly HostRecord[], pool: PoolInfo): StaleFollower[] {
  const master = recorded.find((h) => h.name === aggregate.masterHost);
  const poolMaster = pool.members.find((m) => m.master);
  if (!master || !poolMaster || poolMaster.uuid !== master.uuid) return [];
  const found: StaleFollower[] = [];
  for (const host of recorded) {
    const facts = host.poolFacts;
    if (host.name === master.name || host.membership !== "MEMBER" || !facts || !facts.xapiReachable || facts.emergencyMode || !heartbeatsFresh(host, ctx.heartbeatIntervalMs)) continue;
    if (facts.role !== "SLAVE" || facts.masterAddress === "") continue;
    if (sameAddress(facts.masterAddress, master.xapiAddress) || sameAddress(facts.masterAddress, poolMaster.address)) continue;
    found.push({ host, finding: `host ${host.name} follows ${facts.masterAddress}, not the pool master ${master.name} (${master.xapiAddress})` });
  }
  return found;
}

/** Repoints one stale follower at the recorded master; returns undefined when done, else what is left to report as drift. */
export async function repointFollower(ctx: ControllerContext, aggregate: AggregateRecord, follower: StaleFollower, signal: AbortSignal): Promise<string | undefined> {
  const master = aggregate.masterHost ? await ctx.store.hosts.get(aggregate.masterHost) : undefined;
  if (!master) return follower.finding;
  try {
    const done = await fence({ ctx, signal, probeTimeoutMs, fenceTimeoutMs: repointTimeoutMs }, aggregate, master, { host: follower.host, kind: "straggler" });
    return done ? undefined : `${follower.finding}; not repointed (its agent did not answer, or it is in another pool)`;
  } catch (err) {
    if (signal.aborted) return undefined;
    return `${follower.finding}; repointing it failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}
