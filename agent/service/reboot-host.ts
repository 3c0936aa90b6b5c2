/** RebootHost: host.reboot through the pool master; the caller waits for the host to come back. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RebootHostResponseSchema } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { notFound } from "../../shared/errors.js";
import type { AgentContext } from "./agent-context.js";
import { readCurrentPool } from "./current-pool.js";
import { hostUuidOrOwn } from "./own-host.js";
import { hostByUuid } from "./pool-snapshot.js";

type RebootHostResponseInit = MessageInitShape<typeof RebootHostResponseSchema>;

/**
 * Reads the host's time stamps and server time, then calls host.reboot (XenServer refuses with
 * HOST_NOT_DISABLED or HOST_IN_USE unless the host is disabled and runs no guest; those come back
 * as FAILED_PRECONDITION with the XenAPI code). Returns once the reboot is accepted: the host goes
 * down after XenServer's fuse, so the caller compares agent_start_time to know it is back.
 */
export async function rebootHost(ctx: AgentContext, hostUuid: string, signal: AbortSignal): Promise<RebootHostResponseInit> {
  const uuid = await hostUuidOrOwn(ctx, hostUuid, signal);
  const host = hostByUuid(await readCurrentPool(ctx, { signal }), uuid);
  if (!host) throw notFound(`host ${uuid} is not a member of this pool`);
  const serverTime = await ctx.xapi.pool.call("host.get_servertime", [host.ref], { signal });
  await ctx.xapi.pool.call("host.reboot", [host.ref], { signal });
  ctx.log.info("host reboot requested", { host: host.name, uuid, agentStartTime: host.agentStartTime });
  return {
    previousAgentStartTime: host.agentStartTime,
    previousBootTime: host.bootTime,
    serverTime: serverTime instanceof Date ? serverTime.toISOString() : "",
  };
}
