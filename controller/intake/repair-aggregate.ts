/** RepairAggregate: converge the record to the real pool as its master reports it, and clear ERROR. */
import { Code, ConnectError } from "@connectrpc/connect";
import { failedPrecondition, unavailable } from "../../shared/errors.js";

const aborted = (message: string) => new ConnectError(message, Code.Aborted);
import type { ControllerContext } from "../context.js";
import { requireAggregate } from "./aggregates.js";
import { nowIso, type AggregateRecord } from "../model/records.js";
import type { AgentDirectory } from "../pool/agent-directory.js";
import { memberOf, readPool } from "../pool/pool-view.js";
import { recordEvent } from "../store/record-event.js";

/** What repair needs. */
export interface RepairContext {
  ctx: ControllerContext;
  agents: AgentDirectory;
  signal: AbortSignal;
}

/** Converges one aggregate's record to its real pool. */
export async function repairAggregate(r: RepairContext, aggregateId: number): Promise<AggregateRecord> {
  const { store } = r.ctx;
  const aggregate = requireAggregate(store, aggregateId);
  const running = store.operations.unfinished().find((o) => o.aggregateId === aggregateId);
  if (running) throw failedPrecondition(`operation ${running.id} (${running.kind} ${running.host ?? ""}) is still running on aggregate ${aggregateId}; wait for it or cancel it`);
  const hosts = store.hosts.members(aggregateId);
  const changes: string[] = [];

  // Ask the recorded master first, then confirmed members; never a host that was only joining (it may be standalone).
  const askable = [aggregate.masterHost, ...hosts.filter((h) => h.membership === "MEMBER" || h.membership === "LEAVING").map((h) => h.name)]
    .filter((n, i, all): n is string => !!n && all.indexOf(n) === i);
  let pool: Awaited<ReturnType<typeof readPool>>["pool"] | undefined;
  if (askable.length > 0) {
    try {
      pool = (await readPool({ ctx: r.ctx, agents: r.agents, signal: r.signal, remainingMs: () => 60_000 }, askable)).pool;
    } catch (err) {
      throw unavailable(`cannot read the pool of aggregate ${aggregateId}: no member's agent answered (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  return store.transaction(() => {
    // An operation accepted while the pool was being read would be overwritten: refuse instead.
    const started = store.operations.unfinished().find((o) => o.aggregateId === aggregateId);
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
          store.hosts.setMembership(h.name, aggregateId, "MEMBER");
          store.hosts.setEnabled(h.name, false, "former master, fenced and back in the pool; enable it with host-maintenance-stop");
        }
        continue;
      }
      if (member) {
        if (h.membership !== "MEMBER") changes.push(`${h.name}: ${h.membership} → MEMBER`);
        store.hosts.setMembership(h.name, aggregateId, "MEMBER");
        store.hosts.setEnabled(h.name, member.enabled, member.enabled ? null : "disabled in XenServer");
        if (member.master) masterHost = h.name;
      } else {
        changes.push(`${h.name}: not in the pool, removed from the aggregate`);
        store.hosts.setMembership(h.name, null, null);
        store.hosts.setEnabled(h.name, false, `removed from aggregate ${aggregateId} by repair: not in its pool`);
      }
    }
    const drift: string[] = [];
    for (const m of pool?.members ?? []) {
      if (hosts.some((h) => h.uuid === m.uuid)) continue;
      drift.push(`pool member ${m.name} (${m.uuid}, ${m.address}) is not a host of this aggregate`);
    }
    const remaining = store.hosts.members(aggregateId).filter((h) => h.membership !== "FAILED");
    const empty = remaining.length === 0;
    store.aggregates.updatePool(
      aggregateId,
      {
        poolState: empty ? "EMPTY" : "ACTIVE",
        masterHost: empty ? null : masterHost,
        poolUuid: empty ? null : (pool?.uuid ?? null),
        lastError: null,
        drift,
        checkedAt: now,
        ...(empty && aggregate.azFromHost ? { availabilityZone: null, azFromHost: false } : {}),
      },
      now,
    );
    recordEvent(r.ctx, {
      kind: "aggregate.repaired",
      aggregateId,
      message: `aggregate ${aggregateId} repaired${changes.length ? `: ${changes.join("; ")}` : " (record already matched the pool)"}`,
    });
    return store.aggregates.get(aggregateId)!;
  });
}
