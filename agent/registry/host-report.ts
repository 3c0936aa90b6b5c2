/** What the agent reports about its host to the controller: capacity and pool facts, read fresh. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { HostRole as AgentHostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { HostRole, type HostCapacitySchema, type PoolFactsSchema } from "../../gen/hostaggregates/v1/host_pb.js";
import type { AgentContext } from "../service/agent-context.js";
import { readOwnHost } from "../service/own-host.js";

/** Capacity and pool facts at one moment. */
export interface HostReport {
  capacity: MessageInitShape<typeof HostCapacitySchema>;
  pool: MessageInitShape<typeof PoolFactsSchema> & { role: HostRole; xapiReachable: boolean };
  /** True when every fact was read (not emergency mode, master reachable, XAPI reachable). */
  complete: boolean;
}

const roleOf = (role: AgentHostRole | undefined): HostRole =>
  role === AgentHostRole.MASTER ? HostRole.MASTER : role === AgentHostRole.SLAVE ? HostRole.SLAVE : HostRole.UNSPECIFIED;

/** Reads the own host; never throws for XAPI trouble (an unreachable XAPI is reported as such). */
export async function readHostReport(ctx: AgentContext, signal?: AbortSignal): Promise<HostReport> {
  const unknownPool = {
    hostUuid: ctx.identity.uuid ?? "",
    poolUuid: ctx.identity.poolUuid ?? "",
    poolName: ctx.identity.poolName ?? "",
    masterAddress: ctx.identity.masterAddress ?? "",
    role: HostRole.UNSPECIFIED,
  };
  let own;
  try {
    own = await readOwnHost(ctx, false, { signal });
  } catch (err) {
    ctx.log.warn("cannot read host facts", { error: err instanceof Error ? ctx.credentials.scrub(err.message) : String(err) });
    return { capacity: {}, pool: { ...unknownPool, xapiReachable: true }, complete: false };
  }
  if (own.kind === "unreachable") return { capacity: {}, pool: { ...unknownPool, xapiReachable: false }, complete: false };
  const info = own.info;
  // Resident VMs are running (or paused) ones; dom0 is one of them. Cheaper than reading every VM record.
  const runningVms = own.kind === "read" ? own.host.residentVms.filter((vm) => vm !== own.host.controlDomain).length : 0;
  return {
    capacity: {
      memoryTotalBytes: info.memoryTotalBytes,
      memoryFreeBytes: info.memoryFreeBytes,
      runningVms,
      cpuVendor: info.cpuVendor,
    },
    pool: {
      hostUuid: info.uuid ?? "",
      poolUuid: info.poolUuid ?? "",
      poolName: info.poolName ?? "",
      masterAddress: info.masterAddress ?? "",
      role: roleOf(info.role),
      xapiReachable: true,
      emergencyMode: info.emergencyMode ?? false,
    },
    complete: own.kind === "read",
  };
}
