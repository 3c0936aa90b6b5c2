/**
 * The pool the agent's own host is in right now. The pool session follows HOST_IS_SLAVE to a
 * master and stays there; when the own host has left that pool meanwhile (ejected and rebooted
 * standalone, repointed by an emergency reset) while the old master is still alive, that master
 * answers with a pool that no longer lists the own host. Such a view is stale: the session is
 * sent back to the own host to rediscover its master, and the read is repeated once.
 */
import { sameEndpoint } from "../xapi/endpoint.js";
import type { XapiCallOptions } from "../xapi/xapi-rpc.js";
import type { AgentContext } from "./agent-context.js";
import { findOwnHost, readPool, type PoolHost, type PoolSnapshot } from "./pool-snapshot.js";

/** The own host in a snapshot: by remembered uuid (it survives an eject), else by management address or name. */
export function ownHostIn(ctx: AgentContext, snapshot: PoolSnapshot): PoolHost | undefined {
  return findOwnHost(snapshot, ctx.identity, ctx.xapi.address, ctx.hostName);
}

/** Reads the pool through the pool session, making sure it is the pool the own host is a member of. */
export async function readCurrentPool(ctx: AgentContext, options: XapiCallOptions = {}): Promise<PoolSnapshot> {
  const session = ctx.xapi.pool;
  const home = ctx.xapi.options.url;
  // Where the session pointed before and after the read: a concurrent rehome (the own toolstack
  // restarted) may move it while a read is still answered by the old master.
  const before = session.endpoint;
  const snapshot = await readPool(session, options);
  // A view read from the own host itself, throughout, is authoritative.
  if (ownHostIn(ctx, snapshot) || (sameEndpoint(before, home) && sameEndpoint(session.endpoint, home))) return snapshot;
  const master = (sameEndpoint(before, home) ? session.endpoint : before).host;
  ctx.log.info("the followed master's pool does not list this host; rediscovering the master from the own host", {
    master,
    pool: snapshot.pool.uuid,
    hostUuid: ctx.identity.uuid ?? "",
  });
  // With a known uuid the host is certainly not in that pool: its session there is of no further use.
  ctx.xapi.rehomePool(`the pool of ${master} no longer lists this host`, { logout: ctx.identity.uuid !== undefined });
  return readPool(session, options);
}
