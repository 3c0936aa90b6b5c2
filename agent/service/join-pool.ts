/**
 * JoinPool: pool.join (or join_force) sent to this agent's host with the agent's credentials as
 * the master credentials, then a wait through the toolstack restart until the host answers
 * HOST_IS_SLAVE naming the master, and until the master lists it as live.
 */
import { invalidArgument, failedPrecondition } from "../../shared/errors.js";
import { XapiUnreachableError } from "../xapi/errors.js";
import { notYet, ready, waitUntil } from "../xapi/wait.js";
import type { AgentContext } from "./agent-context.js";
import { poolInfo, type PoolInfoInit } from "./convert.js";
import { Deadline, sameAddress } from "./deadline.js";
import { afterAccepted } from "./error-mapping.js";
import { findOwnHost, readPool } from "./pool-snapshot.js";
import { probePool } from "./pool-probe.js";

/** Joins the own host to the pool of the master at masterAddress; idempotent. */
export async function joinPool(ctx: AgentContext, masterAddress: string, force: boolean, signal: AbortSignal): Promise<PoolInfoInit> {
  const master = masterAddress.trim();
  if (!master) throw invalidArgument([{ field: "master_address", description: "required" }]);
  const deadline = new Deadline(ctx.timings.joinTimeoutMs, `${ctx.hostName} to join the pool of ${master}`);
  const state = await ctx.xapi.homeState({ signal });
  switch (state.kind) {
    case "unreachable":
      throw state.error;
    case "emergency":
      throw failedPrecondition(`${ctx.hostName} is in emergency mode (${state.code}); it cannot join a pool`);
    case "slave":
      if (!(await followsSameMaster(ctx, state.masterAddress, master, signal))) {
        throw failedPrecondition(`${ctx.hostName} is already a member of the pool of master ${state.masterAddress}`);
      }
      ctx.log.info("join: already a member", { master });
      return confirmMember(ctx, master, deadline, signal).catch((err: unknown) => {
        throw afterAccepted(err, `${ctx.hostName} already follows ${master}`);
      });
    case "master":
      if (sameAddress(master, ctx.xapi.address)) return poolInfo(await readPool(ctx.xapi.home, { signal }));
  }

  const method = force ? "pool.join_force" : "pool.join";
  ctx.log.info("join: calling", { method, master });
  // Whether the host was seen down (connections refused, not merely slow or reset) after the call was
  // sent: a host that goes down and comes back as a master did not join.
  let wentDown = false;
  try {
    await ctx.xapi.home.call(method, [master, ctx.credentials.username, ctx.credentials.reveal()], {
      signal,
      timeoutMs: deadline.remaining(),
    });
  } catch (err) {
    // A dropped connection may mean the join went through and the toolstack restarted: find out below.
    if (!(err instanceof XapiUnreachableError) || err.neverSent || err.reason === "aborted") throw err;
    ctx.log.warn("join: connection lost during the call; checking the outcome", { error: err.message });
  }

  // From here on the join was sent (answered, or cut off by the restart): a XenAPI error of the waits is no refusal of it.
  try {
    await waitUntil(
      { what: `${ctx.hostName} to restart as a slave of ${master}`, timeoutMs: deadline.remaining(), intervalMs: ctx.timings.pollIntervalMs, signal },
      async (probe) => {
        const now = await ctx.xapi.homeState({ signal: probe });
        if (now.kind === "slave") {
          if (sameAddress(now.masterAddress, master)) return ready(true);
          throw failedPrecondition(`${ctx.hostName} restarted as a slave of ${now.masterAddress}, not ${master}`);
        }
        if (now.kind === "unreachable" && isDown(now.error)) wentDown = true;
        if (now.kind === "master" && wentDown) throw standaloneAgain(ctx.hostName, master);
        return notYet(now.kind === "master" ? "still a master (toolstack restart pending)" : now.kind === "emergency" ? `emergency mode (${now.code})` : "endpoint down (toolstack restarting)");
      },
    );
    return await confirmMember(ctx, master, deadline, signal);
  } catch (err) {
    throw afterAccepted(err, `${method} was sent`);
  }
}

/**
 * The endpoint is down (toolstack stopped, host off): connections refused. A reset or a timeout may be
 * the network or load while the join goes through, so they do not count.
 */
const isDown = (err: XapiUnreachableError) => err.reason === "refused";

/**
 * The host restarted (power loss, reboot) and came back as a master: the join was not committed
 * (a committed join rewrites pool.conf before the restart, so the host would come back as a slave).
 */
function standaloneAgain(hostName: string, master: string): Error {
  return failedPrecondition(
    `${hostName} restarted and came back standalone (a pool master of its own): the join to the pool of ${master} did not happen ` +
      `(e.g. the host lost power before the join was committed); the master may still list it as a host that is not live. Join it again`,
  );
}

/** True when our master is the requested one, directly or because the requested host names it as master. */
async function followsSameMaster(ctx: AgentContext, current: string, requested: string, signal: AbortSignal): Promise<boolean> {
  if (sameAddress(current, requested)) return true;
  const other = await ctx.xapi.endpointState(ctx.xapi.endpointOf(requested), { signal });
  return other.kind === "slave" && sameAddress(other.masterAddress, current);
}

/** Waits until the master lists the own host as live, and returns the pool. */
async function confirmMember(ctx: AgentContext, master: string, deadline: Deadline, signal: AbortSignal): Promise<PoolInfoInit> {
  return waitUntil(
    { what: `the master ${master} to list ${ctx.hostName} as a live member`, timeoutMs: deadline.remaining(), intervalMs: ctx.timings.pollIntervalMs, signal },
    async (probe) => {
      const read = await probePool(ctx.xapi.pool, probe);
      if (!read.done) return read;
      const snapshot = read.value;
      const own = findOwnHost(snapshot, ctx.identity, ctx.xapi.address, ctx.hostName);
      if (!own) return notYet("not listed by the master yet");
      if (!own.metrics.live) return notYet("listed but not live yet");
      ctx.identity.uuid = own.uuid;
      ctx.identity.masterAddress = master;
      return ready(poolInfo(snapshot));
    },
  );
}
