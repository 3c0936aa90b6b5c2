/**
 * Enabled-flag drift: a member whose enabled flag in XenServer is not what the record wants
 * (model/lifecycle.ts `takesVms`). A host disabled with auto_enable=true comes back enabled after a
 * toolstack restart, and someone may enable or disable a host behind the controller's back. The
 * reconciler corrects it through the pool's agents (host.disable with auto_enable=false, or
 * host.enable) and reports each correction as a `host.enabled-drift` event.
 */
import type { PoolInfo } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import type { ControllerContext } from "../context.js";
import { takesVms } from "../model/lifecycle.js";
import type { AggregateRecord, HostRecord } from "../model/records.js";
import { setEnabledInPool } from "../pool/host-enabled.js";
import { memberOf } from "../pool/pool-view.js";

/** One host whose XenServer flag differs from the record's wish. */
export interface EnabledDrift {
  host: HostRecord;
  /** What XenServer should say. */
  want: boolean;
  /** What the drift is, in words. */
  finding: string;
}

function whyNoVms(h: HostRecord): string {
  if (h.membership === "FAILED") return "it is a FAILED former pool master";
  if (h.maintenance !== "NONE") return `it is in maintenance (${h.maintenance})`;
  return "it is disabled";
}

/**
 * The drifts of the aggregate's recorded hosts that the pool lists as live (a host that is not live
 * cannot be changed: XenServer answers HOST_OFFLINE). JOINING and LEAVING hosts belong to their operation.
 */
export function enabledDrifts(hosts: readonly HostRecord[], pool: PoolInfo): EnabledDrift[] {
  const found: EnabledDrift[] = [];
  for (const host of hosts) {
    if (host.membership !== "MEMBER" && host.membership !== "FAILED") continue;
    const member = memberOf(pool, host.uuid);
    if (!member?.live) continue;
    const want = takesVms(host);
    if (member.enabled === want) continue;
    const finding = want
      ? `host ${host.name} is disabled in XenServer but the record says it is in service`
      : `host ${host.name} is enabled in XenServer but the record says it takes no VMs (${whyNoVms(host)})`;
    found.push({ host, want, finding });
  }
  return found;
}

/**
 * Corrects one drift (the aggregate runs no operation): sets XenServer's flag and appends the event.
 * Returns undefined when corrected, else what is left to report as drift.
 */
export async function correctEnabledDrift(ctx: ControllerContext, aggregate: AggregateRecord, drift: EnabledDrift, signal: AbortSignal): Promise<string | undefined> {
  const deadline = Date.now() + 30_000;
  try {
    await setEnabledInPool({ ctx, agents: ctx.agents, signal, remainingMs: () => deadline - Date.now() }, aggregate.id, drift.host, drift.want);
  } catch (err) {
    if (signal.aborted) return undefined;
    return `${drift.finding}; ${drift.want ? "enabling" : "disabling"} it failed: ${err instanceof Error ? err.message : String(err)}`;
  }
  await ctx.store.appendEvent({
    kind: "host.enabled-drift",
    aggregateId: aggregate.id,
    host: drift.host.name,
    message: `${drift.finding}; ${drift.want ? "enabled" : "disabled"} it in XenServer${drift.want ? "" : " (auto_enable=false, so it stays disabled across toolstack restarts)"}`,
  });
  // An operator (SetHostEnabled) may have changed the record while the call ran: then XenServer
  // follows the record as it is now, so the last word is the record's.
  // (Not while an operation runs on the aggregate: it sets the flag itself.)
  const now = await ctx.store.hosts.get(drift.host.name);
  const idle = (await ctx.store.aggregates.get(aggregate.id))?.poolState === "ACTIVE";
  if (idle && now && now.aggregateId === aggregate.id && takesVms(now) !== drift.want && (now.membership === "MEMBER" || now.membership === "FAILED")) {
    try {
      await setEnabledInPool({ ctx, agents: ctx.agents, signal, remainingMs: () => deadline - Date.now() }, aggregate.id, now, !drift.want);
    } catch (err) {
      if (signal.aborted) return undefined;
      return `host ${now.name} changed while its enabled flag was corrected; setting it back failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return undefined;
}
