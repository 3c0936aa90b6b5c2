/**
 * What acting under a lease looks like to the code that acts (an operation's steps, a watcher's
 * pass): the controller's context with a fenced store and guarded agents. Every transaction first
 * checks, in the database, that this replica still holds the lease with its epoch (the row stays
 * locked until the transaction ends, so it cannot change hands before the commit); every agent call
 * checks the local deadline synchronously right before it is sent and names the replica. A lost
 * lease makes both throw LeaseLost and aborts the lease's signal: an interruption, never a failure.
 */
import type { AgentLookup, ControllerContext } from "../context.js";
import type { Store, StoreTx } from "../store/store.js";
import type { HeldLease } from "./lease-keeper.js";

/** The lease under which something acted is gone: what it did is left as journaled. */
export class LeaseLost extends Error {
  constructor(readonly aggregateId: number) {
    super(`this replica no longer holds the lease of aggregate ${aggregateId}`);
  }
}

/** Throws LeaseLost unless the lease is still valid locally. */
export function requireValid(held: HeldLease): void {
  if (!held.valid()) throw new LeaseLost(held.lease.aggregateId);
}

/** Inside a transaction: throws LeaseLost (and declares it lost) unless the database still has the lease. */
async function fence(tx: StoreTx, held: HeldLease): Promise<void> {
  requireValid(held);
  if (await tx.leases.holds(held.lease)) return;
  held.lose("a fenced write found it expired or taken");
  throw new LeaseLost(held.lease.aggregateId);
}

/** The store whose every transaction (and event append) is fenced by the lease. */
export function fencedStore(store: Store, held: HeldLease): Store {
  const transaction: Store["transaction"] = (fn) =>
    store.transaction(async (tx) => {
      await fence(tx, held);
      return fn(tx);
    });
  return {
    aggregates: store.aggregates,
    hosts: store.hosts,
    operations: store.operations,
    events: store.events,
    vmOrigins: store.vmOrigins,
    leases: store.leases,
    changes: store.changes,
    transaction,
    appendEvent: (e) => transaction(async (tx) => void (await tx.events.append(e))),
    heartbeat: (...args) => store.heartbeat(...args),
    claimReplica: () => Promise.reject(new Error("a fenced store claims nothing")),
    probe: () => store.probe(),
    close: () => Promise.reject(new Error("a fenced store is not closed")),
  };
}

/** The agents, each call checked against the lease right before it is sent and sent as this replica's. */
export function guardedAgents(agents: AgentLookup, held: HeldLease): AgentLookup {
  return {
    forHost: (host, options) =>
      agents.forHost(host, {
        replicaId: held.lease.holder,
        beforeEachCall: () => {
          options?.beforeEachCall?.();
          requireValid(held);
        },
      }),
  };
}

/** The context for acting under a lease. */
export function leasedContext<C extends ControllerContext>(ctx: C, held: HeldLease): C {
  return { ...ctx, store: fencedStore(ctx.store, held), agents: guardedAgents(ctx.agents, held) };
}

/**
 * Runs fn in the leased context when this replica holds the aggregate's lease or can take it (a
 * watcher's duty for one aggregate; 0: the fleet's); false when another replica holds it. A lease
 * lost meanwhile ends fn quietly: what it did is what its fenced writes recorded.
 */
export async function underLease<C extends ControllerContext>(ctx: C, aggregateId: number, fn: (leased: C, held: HeldLease) => Promise<void>): Promise<boolean> {
  const held = await ctx.leases.take(aggregateId);
  if (!held) return false;
  try {
    await fn(leasedContext(ctx, held), held);
  } catch (err) {
    if (!(err instanceof LeaseLost) && !held.signal.aborted) throw err;
    ctx.log.warn("stopped acting on an aggregate: its lease was lost", { aggregate: aggregateId });
  }
  return true;
}
