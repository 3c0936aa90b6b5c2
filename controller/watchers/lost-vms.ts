/**
 * Lost VMs (running on a master that failed) that run again or no longer exist are dropped from
 * the aggregate's list. A VM runs again when the pool reports it running on a live host — any
 * host, the recovered former master included (while that host is dead, the pool database still
 * names it as the VM's host, so liveness is what tells).
 */
import type { ControllerContext } from "../context.js";
import { nowIso, type AggregateRecord, type HostRecord } from "../model/records.js";

/** Re-reads the pool's VMs through its master and drops lost VMs that run again on a live host (restarted by an operator) or are gone. */
export async function pruneLostVms(ctx: ControllerContext, aggregate: AggregateRecord, master: HostRecord, options: { signal: AbortSignal; timeoutMs: number }): Promise<void> {
  const { store } = ctx;
  let vms;
  let pool;
  try {
    const agent = ctx.agents.forHost(master);
    [vms, pool] = await Promise.all([agent.listVms({}, options).then((r) => r.vms), agent.getPoolInfo({}, options)]);
  } catch {
    return;
  }
  const byUuid = new Map(vms.map((v) => [v.uuid, v]));
  const live = new Set(pool.members.filter((m) => m.live).map((m) => m.uuid));
  const names = new Map((await store.hosts.members(aggregate.id)).map((h) => [h.uuid, h.name]));
  const resolved: string[] = [];
  const keep = aggregate.lostVms.filter((lost) => {
    const vm = byUuid.get(lost.vmUuid);
    if (!vm) {
      resolved.push(`${lost.vmName} (${lost.vmUuid}) no longer exists`);
      return false;
    }
    if (vm.powerState === "Running" && live.has(vm.residentHostUuid)) {
      resolved.push(`${lost.vmName} (${lost.vmUuid}) runs again on ${names.get(vm.residentHostUuid) ?? vm.residentHostUuid}`);
      return false;
    }
    return true;
  });
  if (resolved.length === 0) return;
  await store.transaction(async () => {
    const current = await store.aggregates.get(aggregate.id);
    if (!current) return;
    const gone = new Set(aggregate.lostVms.filter((v) => !keep.includes(v)).map((v) => v.vmUuid));
    await store.aggregates.updatePool(aggregate.id, { lostVms: current.lostVms.filter((v) => !gone.has(v.vmUuid)) }, nowIso());
    await store.events.append({ kind: "pool.lost-vms-resolved", aggregateId: aggregate.id, message: `no longer lost: ${resolved.join("; ")}` });
  });
}
