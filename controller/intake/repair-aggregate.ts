/** RepairAggregate: converge the record to the real pool as its master reports it, and clear ERROR. */
import { Code, ConnectError } from "@connectrpc/connect";
import { agentUnavailable } from "../../shared/agent-errors.js";
import { failedPrecondition } from "../../shared/errors.js";
import type { IntakeContext } from "../context.js";
import { adoptedByRepair, errorAfterRepair, fencedBackByRepair, removedByRepair } from "../model/lifecycle.js";
import { nowIso, type AggregateRecord } from "../model/records.js";
import { memberOf, readPool } from "../pool/pool-view.js";
import { idFrom, requireAggregate } from "./lookups.js";

const aborted = (message: string) => new ConnectError(message, Code.Aborted);

/** Converges one aggregate's record to its real pool (no operation may be running on it). */
export async function repairAggregate(ctx: IntakeContext, rawId: bigint): Promise<AggregateRecord> {
  const aggregateId = idFrom(rawId);
  const { store } = ctx;
  const aggregate = await requireAggregate(store, aggregateId);
  const running = (await store.operations.unfinished(aggregateId))[0];
  if (running) throw failedPrecondition(`operation ${running.id} (${running.kind} ${running.host ?? ""}) is still running on aggregate ${aggregateId}; wait for it or cancel it`);
  const hosts = await store.hosts.members(aggregateId);
  const changes: string[] = [];

  // Ask the recorded master first, then confirmed members; never a host that was only joining (it may be standalone).
  const askable = [aggregate.masterHost, ...hosts.filter((h) => h.membership === "MEMBER" || h.membership === "LEAVING").map((h) => h.name)]
    .filter((n, i, all): n is string => !!n && all.indexOf(n) === i);
  let pool: Awaited<ReturnType<typeof readPool>>["pool"] | undefined;
  if (askable.length > 0) {
    try {
      pool = (await readPool({ ctx, agents: ctx.agents, signal: ctx.engine.shutdown, remainingMs: () => 60_000 }, askable)).pool;
    } catch (err) {
      throw agentUnavailable(`cannot read the pool of aggregate ${aggregateId}: no member's agent answered (${err instanceof Error ? err.message : String(err)})`, askable, err);
    }
  }

  return await store.transaction(async () => {
    // An operation accepted while the pool was being read would be overwritten: refuse instead.
    const started = (await store.operations.unfinished(aggregateId))[0];
    if (started) throw aborted(`operation ${started.id} (${started.kind}) started on aggregate ${aggregateId} during the repair; repair again when it has ended`);
    const now = nowIso();
    let masterHost: string | null = null;
    for (const h of hosts) {
      const member = pool ? memberOf(pool, h.uuid) : undefined;
      if (h.membership === "FAILED") {
        // A failed former master rejoins the record only once fenced: live in the new master's pool as a
        // slave. It stays disabled until an operator enables it (host-maintenance-stop).
        if (member?.live && !member.master) {
          changes.push(`${h.name}: fenced former master is back in the pool, FAILED → MEMBER (disabled)`);
          await store.hosts.apply(h.name, fencedBackByRepair());
        }
        continue;
      }
      if (member) {
        if (h.membership !== "MEMBER") changes.push(`${h.name}: ${h.membership} → MEMBER`);
        await store.hosts.apply(h.name, adoptedByRepair(member.enabled, h.maintenance));
        if (member.master) masterHost = h.name;
      } else {
        changes.push(`${h.name}: not in the pool, removed from the aggregate`);
        await store.hosts.apply(h.name, removedByRepair(aggregateId));
      }
    }
    const drift: string[] = [];
    for (const m of pool?.members ?? []) {
      if (hosts.some((h) => h.uuid === m.uuid)) continue;
      drift.push(`pool member ${m.name} (${m.uuid}, ${m.address}) is not a host of this aggregate`);
    }
    const remaining = (await store.hosts.members(aggregateId)).filter((h) => h.membership !== "FAILED");
    const empty = remaining.length === 0;
    await store.aggregates.setError(aggregateId, errorAfterRepair(), now);
    await store.aggregates.updatePool(
      aggregateId,
      {
        masterHost: empty ? null : masterHost,
        poolUuid: empty ? null : (pool?.uuid ?? null),
        drift,
        checkedAt: now,
        ...(empty && aggregate.azFromHost ? { availabilityZone: null, azFromHost: false } : {}),
      },
      now,
    );
    await store.events.append({
      kind: "aggregate.repaired",
      aggregateId,
      message: `aggregate ${aggregateId} repaired${changes.length ? `: ${changes.join("; ")}` : " (record already matched the pool)"}`,
    });
    return (await store.aggregates.get(aggregateId))!;
  });
}
