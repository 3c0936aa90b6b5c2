/**
 * The pool the agent's own host is in right now. The pool session follows HOST_IS_SLAVE to a
 * master and stays there; when the own host has left that pool meanwhile (ejected and rebooted
 * standalone, repointed by an emergency reset) while the old master is still alive, that master
 * answers with a pool that no longer lists the own host. Such a view is stale: the session is
 * sent back to the own host to rediscover its master, and the read is repeated once.
 */
import { sameEndpoint } from "../xapi/endpoint.js";
import type { XapiSession } from "../xapi/session.js";
import type { XapiCallOptions } from "../xapi/xapi-rpc.js";
import type { AgentContext } from "./agent-context.js";
import { findOwnHost, readPool, type PoolHost, type PoolSnapshot } from "./pool-snapshot.js";

/** The own host in a snapshot: by remembered uuid (it survives an eject), else by management address or name. */
export function ownHostIn(ctx: AgentContext, snapshot: PoolSnapshot): PoolHost | undefined {
  return findOwnHost(snapshot, ctx.identity, ctx.xapi.address, ctx.hostName);
}

/**
 * Reads the pool through the pool session, all of it from one endpoint: a read during which the
 * session was repointed (the own toolstack restarted, a master answered HOST_IS_SLAVE) may mix the
 * old master's pool record with another pool's hosts, or fail on a ref of the other pool
 * (HANDLE_INVALID), so it is read again (at most twice more).
 */
async function readConsistentPool(session: XapiSession, options: XapiCallOptions): Promise<PoolSnapshot> {
  for (let attempt = 0; ; attempt++) {
    const generation = session.generation;
    const again = () => session.generation !== generation && attempt < 2 && !options.signal?.aborted;
    let snapshot: PoolSnapshot;
    try {
      snapshot = await readPool(session, options);
    } catch (err) {
      if (again()) continue;
      throw err;
    }
    if (!again()) return snapshot;
  }
}

/** Reads the pool through the pool session, making sure it is the pool the own host is a member of. */
export async function readCurrentPool(ctx: AgentContext, options: XapiCallOptions = {}): Promise<PoolSnapshot> {
  const session = ctx.xapi.pool;
  const snapshot = await readConsistentPool(session, options);
  // A view read from the own host itself is authoritative.
  if (ownHostIn(ctx, snapshot) || sameEndpoint(session.endpoint, ctx.xapi.options.url)) return snapshot;
  const master = session.endpoint.host;
  ctx.log.info("the followed master's pool does not list this host; rediscovering the master from the own host", {
    master,
    pool: snapshot.pool.uuid,
    hostUuid: ctx.identity.uuid ?? "",
  });
  // With a known uuid the host is certainly not in that pool: its session there is of no further use.
  ctx.xapi.rehomePool(`the pool of ${master} no longer lists this host`, { logout: ctx.identity.uuid !== undefined });
  return readConsistentPool(session, options);
}
