/**
 * Facts about the agent's own host, whatever its state: a master (read from itself), a slave
 * (read from its master), in emergency mode, or unreachable.
 */
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { failedPrecondition } from "../../shared/errors.js";
import { XapiUnreachableError } from "../xapi/errors.js";
import type { XapiSession } from "../xapi/session.js";
import { str } from "../xapi/values.js";
import type { XapiCallOptions } from "../xapi/xapi-rpc.js";
import type { AgentContext } from "./agent-context.js";
import { hostInfo, type HostInfoInit } from "./convert.js";
import { ownHostIn, readCurrentPool } from "./current-pool.js";
import { readPool, readVmsOfHost, type PoolHost, type PoolSnapshot, type PoolVm } from "./pool-snapshot.js";

/** The own host as far as it can be read. */
export type OwnHost =
  | { kind: "read"; info: HostInfoInit; snapshot: PoolSnapshot; host: PoolHost; vms?: PoolVm[] }
  /** Emergency mode, or a slave whose master cannot be reached: what is known without the master. */
  | { kind: "partial"; info: HostInfoInit; reason: string }
  | { kind: "unreachable"; error: XapiUnreachableError };

/** Reads the own host; VMs (with their evacuation blockers) are read when includeVms is set. */
export async function readOwnHost(ctx: AgentContext, includeVms: boolean, options: XapiCallOptions = {}): Promise<OwnHost> {
  const state = await ctx.xapi.homeState(options);
  switch (state.kind) {
    case "unreachable":
      return { kind: "unreachable", error: state.error };
    case "emergency":
      return { kind: "partial", info: partialInfo(ctx, { emergencyMode: true }), reason: `emergency mode (${state.code})` };
    case "master": {
      const thisHost = state.hostRef ?? str(await ctx.xapi.home.callWith("session.get_this_host", (s) => [s, s], options));
      return read(ctx, ctx.xapi.home, includeVms, options, () => readPool(ctx.xapi.home, options), (snapshot) => snapshot.hosts.find((h) => h.ref === thisHost));
    }
    case "slave": {
      // The master the own host follows (its pool.conf, as its XAPI redirects), which is reported even when
      // the pool session reached the pool through another master: a host that was down while the master
      // role moved still follows the old master, whose redirect leads the session to the new one.
      ctx.identity.masterAddress = state.masterAddress;
      try {
        // The master it names may not be the one the pool session last followed: readCurrentPool checks.
        return await read(ctx, ctx.xapi.pool, includeVms, options, () => readCurrentPool(ctx, options), (snapshot) => ownHostIn(ctx, snapshot), state.masterAddress);
      } catch (err) {
        if (!(err instanceof XapiUnreachableError) || err.reason === "aborted") throw err;
        return { kind: "partial", info: partialInfo(ctx, {}), reason: err.message };
      }
    }
  }
}

async function read(
  ctx: AgentContext,
  session: XapiSession,
  includeVms: boolean,
  options: XapiCallOptions,
  readSnapshot: () => Promise<PoolSnapshot>,
  pick: (snapshot: PoolSnapshot) => PoolHost | undefined,
  followedMaster?: string,
): Promise<OwnHost> {
  const snapshot = await readSnapshot();
  const host = pick(snapshot);
  if (!host) throw failedPrecondition(`the pool master does not list this host (${ctx.hostName}, ${ctx.xapi.address})`);
  const vms = includeVms ? await readVmsOfHost(session, host.ref, ctx.log, options) : undefined;
  const info = hostInfo(snapshot, host, vms, (text) => ctx.credentials.scrub(text));
  if (followedMaster) info.masterAddress = followedMaster;
  Object.assign(ctx.identity, { uuid: host.uuid, masterAddress: info.masterAddress, poolUuid: snapshot.pool.uuid, poolName: snapshot.pool.name });
  return { kind: "read", info, snapshot, host, vms };
}

function partialInfo(ctx: AgentContext, extra: { emergencyMode?: boolean }): HostInfoInit {
  return {
    uuid: ctx.identity.uuid ?? "",
    name: ctx.hostName,
    address: ctx.xapi.address,
    role: HostRole.SLAVE,
    masterAddress: ctx.identity.masterAddress ?? "",
    poolUuid: "",
    poolName: "",
    ...extra,
  };
}

/** The own host's HostInfo for a handler: unreachable XAPI is an error, partial facts are returned as they are. */
export async function ownHostInfo(ctx: AgentContext, includeVms: boolean, options: XapiCallOptions = {}): Promise<HostInfoInit> {
  const own = await readOwnHost(ctx, includeVms, options);
  if (own.kind === "unreachable") throw own.error;
  return own.info;
}

/** A request's host uuid, trimmed; an empty one names the own host (read through its pool). */
export async function hostUuidOrOwn(ctx: AgentContext, hostUuid: string, signal: AbortSignal): Promise<string> {
  const uuid = hostUuid.trim();
  if (uuid) return uuid;
  const own = await readOwnHost(ctx, false, { signal });
  if (own.kind === "unreachable") throw own.error;
  if (own.kind === "partial") throw failedPrecondition(`cannot reach the pool master of ${ctx.hostName}: ${own.reason}`);
  return own.host.uuid;
}
