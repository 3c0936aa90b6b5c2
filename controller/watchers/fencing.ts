/**
 * Fencing: a failed pool master that comes back boots as the master of its old pool database
 * (XenServer's split brain). The controller points it at the current master
 * (pool.emergency_reset_master through its agent), disables it in XenServer, and keeps its
 * record FAILED until an operator decides (repair, then StopMaintenance to put it back in
 * service, or RemoveHost to eject and wipe it). Members that missed pool.recover_slaves (down at
 * the time) and sit in emergency mode pointing at a dead master, or members that run as a second
 * master of the pool, are repointed the same way (the recorded master, which answers as the
 * master, wins). Every action is decided on the host's live answer, never on heartbeat facts alone.
 */
import { sameAddress } from "../../shared/address.js";
import type { HostInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { ControllerContext } from "../context.js";
import { nowIso, type AggregateRecord, type HostRecord, type PoolFactsRecord } from "../model/records.js";
import { fenced } from "../model/lifecycle.js";
import { heartbeatsFresh } from "../model/liveness.js";

/** What fencing needs. */
export interface FencingContext {
  ctx: ControllerContext;
  signal: AbortSignal;
  /** Deadline of a quick read (GetHostInfo). */
  probeTimeoutMs: number;
  /** Deadline of a repointing (EmergencyResetMaster waits for the toolstack restart). */
  fenceTimeoutMs: number;
}

/** One host that needs a look, and why. */
export interface FencingCandidate {
  host: HostRecord;
  kind: "former-master" | "straggler";
}

/**
 * Whether a member's heartbeat facts show it stranded in emergency mode: following another master
 * than the pool's, or one its agent cannot name. An agent that started while its host was already
 * in emergency mode never learns the master (every call but the emergency ones answers
 * HOST_STILL_BOOTING), so an unknown master counts as stranded: fencing then asks the host itself
 * and repoints it at the pool's master, which is harmless if it already followed that one.
 */
export function strandedInEmergency(facts: Pick<PoolFactsRecord, "emergencyMode" | "masterAddress">, masterAddress: string): boolean {
  return facts.emergencyMode && (facts.masterAddress === "" || !sameAddress(facts.masterAddress, masterAddress));
}

/**
 * Hosts of the aggregate that may be following the wrong master, from the record and the
 * heartbeats (no calls): FAILED hosts whose agent reports a reachable XAPI again and that were
 * not fenced yet or report another master; members in emergency mode that point elsewhere (or at
 * a master their agent cannot name), or that report being a master of the pool.
 */
export async function fencingCandidates(ctx: ControllerContext, aggregate: AggregateRecord, master: HostRecord): Promise<FencingCandidate[]> {
  const found: FencingCandidate[] = [];
  for (const h of await ctx.store.hosts.members(aggregate.id)) {
    if (h.name === master.name) continue;
    const facts = h.poolFacts;
    // Only hosts whose agent heartbeats and reaches its XAPI can be repointed.
    if (!facts || !facts.xapiReachable || !heartbeatsFresh(h, ctx.heartbeatIntervalMs)) continue;
    if (h.membership === "FAILED") {
      const elsewhere = facts.role === "MASTER" || (facts.masterAddress !== "" && !sameAddress(facts.masterAddress, master.xapiAddress));
      if (h.liveness === "FAILED" || elsewhere) found.push({ host: h, kind: "former-master" });
    } else if (h.membership === "MEMBER") {
      const stranded = strandedInEmergency(facts, master.xapiAddress);
      // A second master of the same pool (split brain), e.g. a former master put back to MEMBER by a repair while it was dead.
      const secondMaster = facts.role === "MASTER" && !!aggregate.poolUuid && facts.poolUuid === aggregate.poolUuid;
      if (stranded || secondMaster) found.push({ host: h, kind: "straggler" });
    }
  }
  return found;
}


/** Whether a host's answer shows it follows the master at this address. */
function follows(info: HostInfo, masterAddress: string): boolean {
  return info.role === HostRole.SLAVE && !info.emergencyMode && sameAddress(info.masterAddress, masterAddress);
}

/** The status reason of a fenced former master. */
export function fencedReason(host: string, aggregateId: number, master: string, how: string): string {
  return (
    `former pool master of aggregate ${aggregateId}, fenced at ${nowIso()}: ${how}, and disabled. It stays out of service (membership FAILED) ` +
    `until an operator runs "aggctl aggregate-repair ${aggregateId}", then "aggctl host-maintenance-stop ${host}" to put it back in service ` +
    `or "aggctl aggregate-remove-host ${aggregateId} ${host}" to eject (and wipe) it; current master: ${master}`
  );
}

/**
 * Fences one candidate (the aggregate's master answers as master). Returns what was done, or
 * undefined when there was nothing to do or the host did not answer (tried again on the next pass).
 */
export async function fence(f: FencingContext, aggregate: AggregateRecord, master: HostRecord, candidate: FencingCandidate): Promise<string | undefined> {
  const { ctx, signal } = f;
  const agents = ctx.agents;
  const host = candidate.host;
  let info: HostInfo;
  try {
    info = await agents.forHost(host).getHostInfo({}, { signal, timeoutMs: f.probeTimeoutMs });
  } catch {
    return undefined;
  }
  // Only a host of this pool (or one that cannot read its pool) is repointed; a reinstalled or
  // ejected host that runs another pool is left alone.
  if (info.poolUuid !== "" && aggregate.poolUuid && info.poolUuid !== aggregate.poolUuid) return undefined;
  // A straggler is repointed when it is stranded, a second master, or a slave that follows another master.
  const followsElsewhere = info.role === HostRole.SLAVE && info.masterAddress !== "" && !sameAddress(info.masterAddress, master.xapiAddress);
  if (candidate.kind === "straggler" && !info.emergencyMode && info.role !== HostRole.MASTER && !followsElsewhere) return undefined;
  let how: string;
  if (follows(info, master.xapiAddress)) {
    // Nothing to do unless a former master still has to be recorded as fenced.
    if (candidate.kind === "straggler" || host.liveness !== "FAILED") return undefined;
    how = `it already follows ${master.name} (${master.xapiAddress})`;
  } else {
    const before =
      info.role === HostRole.MASTER
        ? "it came back as a second master of the pool"
        : info.emergencyMode
          ? `it sat in emergency mode following ${info.masterAddress || "a master its agent cannot name"}`
          : `it followed ${info.masterAddress || "no master"}`;
    await ctx.store.appendEvent({
      kind: candidate.kind === "former-master" ? "host.fencing" : "host.repointing",
      aggregateId: aggregate.id,
      host: host.name,
      message: `${host.name}: ${before}; repointing it at ${master.name} (${master.xapiAddress}) with emergency_reset_master`,
    });
    await agents.forHost(host).emergencyResetMaster({ masterAddress: master.xapiAddress }, { signal, timeoutMs: f.fenceTimeoutMs });
    how = `${before}; repointed at ${master.name} (${master.xapiAddress}) with emergency_reset_master`;
  }
  if (candidate.kind === "straggler") {
    await ctx.store.appendEvent({ kind: "host.repointed", aggregateId: aggregate.id, host: host.name, message: `${host.name} follows the pool master ${master.name} again: ${how}` });
    return how;
  }
  // A former master takes no new VMs until an operator decides.
  if (host.uuid) await agents.forHost(master).setHostEnabled({ hostUuid: host.uuid, enabled: false }, { signal, timeoutMs: f.fenceTimeoutMs });
  const reason = fencedReason(host.name, aggregate.id, master.name, how);
  await ctx.store.transaction(async () => {
    const fresh = await ctx.store.hosts.get(host.name);
    if (!fresh || fresh.aggregateId !== aggregate.id || fresh.membership !== "FAILED") return;
    await ctx.store.hosts.apply(host.name, fenced(reason));
    await ctx.store.events.append({ kind: "host.fenced", aggregateId: aggregate.id, host: host.name, message: `${host.name} is fenced: ${reason}` });
  });
  return how;
}
