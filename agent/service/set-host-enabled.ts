/** SetHostEnabled: host.enable / host.disable on the master (both idempotent in XenAPI). */
import { notFound } from "../../shared/errors.js";
import { isXapiError } from "../xapi/errors.js";
import type { AgentContext } from "./agent-context.js";
import { hostInfo, type HostInfoInit } from "./convert.js";
import { hostUuidOrOwn } from "./own-host.js";
import { readCurrentPool } from "./current-pool.js";
import { hostByUuid, readPool } from "./pool-snapshot.js";

/**
 * host.disable with auto_enable=false, so the host stays disabled across toolstack restarts (a
 * host in maintenance must not take VMs after its toolstack restarts). XenAPI releases without
 * that parameter answer MESSAGE_PARAMETER_COUNT_MISMATCH: then the plain call (docs/xenapi-notes.md §Host maintenance).
 */
async function disableForGood(ctx: AgentContext, hostRef: string, signal: AbortSignal): Promise<void> {
  try {
    await ctx.xapi.pool.call("host.disable", [hostRef, false], { signal });
  } catch (err) {
    if (!isXapiError(err, "MESSAGE_PARAMETER_COUNT_MISMATCH")) throw err;
    await ctx.xapi.pool.call("host.disable", [hostRef], { signal });
  }
}

/** Enables or disables hostUuid (empty: the own host) and returns its facts afterwards. */
export async function setHostEnabled(ctx: AgentContext, hostUuid: string, enabled: boolean, signal: AbortSignal): Promise<HostInfoInit> {
  const uuid = await hostUuidOrOwn(ctx, hostUuid, signal);
  const before = await readCurrentPool(ctx, { signal });
  const host = hostByUuid(before, uuid);
  if (!host) throw notFound(`host ${uuid} is not a member of this pool`);
  // A disabled host is disabled again: it may have been disabled with auto_enable=true (by
  // XenServer or someone else), and the next toolstack restart would enable it.
  if (enabled && !host.enabled) await ctx.xapi.pool.call("host.enable", [host.ref], { signal });
  if (!enabled) await disableForGood(ctx, host.ref, signal);
  if (host.enabled !== enabled) ctx.log.info(enabled ? "host enabled" : "host disabled", { host: host.name, uuid });
  const after = await readPool(ctx.xapi.pool, { signal });
  const updated = hostByUuid(after, uuid);
  if (!updated) throw notFound(`host ${uuid} left the pool`);
  return hostInfo(after, updated);
}
