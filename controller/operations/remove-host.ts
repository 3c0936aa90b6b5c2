/** RemoveHost: a master hands its role over first; members are ejected; the last host clears the pool. */
import { nowIso, type HostRecord } from "../model/records.js";
import { StepFailure } from "../engine/failures.js";
import { callOptions, hostRecord, memberOf, readPool } from "../pool/pool-view.js";
import { recordEvent } from "../store/record-event.js";
import type { OperationKindHandler, StepContext, StepResult } from "../engine/step-spec.js";

const aggregateOf = (s: Pick<StepContext, "ctx" | "op">) => s.ctx.store.aggregates.get(s.op.aggregateId!)!;
const leavingName = (s: Pick<StepContext, "op">) => s.op.host!;
/**
 * The other hosts still in the pool: confirmed members and hosts whose own removal is queued
 * (LEAVING); not hosts whose AddHost has not run yet (JOINING) nor failed ones.
 */
const otherMembers = (s: Pick<StepContext, "ctx" | "op">): HostRecord[] =>
  s.ctx.store.hosts.members(s.op.aggregateId!).filter((h) => h.name !== leavingName(s) && (h.membership === "MEMBER" || h.membership === "LEAVING"));

/**
 * The member that takes over as master: enabled, alive and not in maintenance, with the most free
 * memory; failing that, any live member (e.g. one whose own removal is queued).
 */
export function chooseNewMaster(candidates: HostRecord[]): HostRecord | undefined {
  const byFreeMemory = (a: HostRecord, b: HostRecord) => (b.capacity?.memoryFreeBytes ?? 0) - (a.capacity?.memoryFreeBytes ?? 0);
  const live = candidates.filter((h) => h.liveness === "ALIVE");
  return live.filter((h) => h.enabled && h.maintenance === "NONE").sort(byFreeMemory)[0] ?? live.sort(byFreeMemory)[0];
}

async function designateNewMaster(s: StepContext): Promise<StepResult> {
  const leaving = hostRecord(s, leavingName(s));
  const others = otherMembers(s);
  let chosen = s.op.params.newMaster as string | undefined;
  if (!chosen) {
    // A retried or resumed step may find the role already handed over: adopt that master.
    const { pool: current } = await readPool(s, [leaving.name, ...others.map((h) => h.name)]);
    const already = others.find((h) => h.uuid === current.masterUuid);
    const pick = already ?? chooseNewMaster(others);
    if (!pick) throw new StepFailure(`no other live member of aggregate ${s.op.aggregateId} can take over as pool master`);
    chosen = pick.name;
    s.op.params.newMaster = chosen;
    s.checkpoint(); // a resume must hand over to the same host
  }
  const next = hostRecord(s, chosen);
  const { pool } = await readPool(s, [leaving.name, next.name]);
  if (pool.masterUuid !== next.uuid) {
    await s.agents.forHost(leaving).designateNewMaster({ hostUuid: next.uuid! }, callOptions(s));
  }
  s.ctx.store.transaction(() => s.ctx.store.aggregates.updatePool(s.op.aggregateId!, { masterHost: next.name }, nowIso()));
  recordEvent(s.ctx, { kind: "pool.master-changed", aggregateId: s.op.aggregateId, host: next.name, operationId: s.op.id, message: `${next.name} took over as pool master from ${leaving.name}` });
  return { detail: `${next.name} is the new pool master`, skipped: pool.masterUuid === next.uuid };
}

async function ejectHost(s: StepContext): Promise<StepResult> {
  const aggregate = aggregateOf(s);
  const leaving = hostRecord(s, leavingName(s));
  const master = hostRecord(s, aggregate.masterHost!);
  if (master.name === leaving.name) throw new StepFailure(`${leaving.name} is still the pool master; it cannot be ejected`);
  const { pool } = await readPool(s, [master.name, ...otherMembers(s).map((h) => h.name)]);
  const member = memberOf(pool, leaving.uuid);
  if (!member) return { detail: `${leaving.name} is not in pool ${pool.uuid} any more`, skipped: true };
  if (!member.live && s.op.params.priorMembership === "FAILED") {
    // A dead former master cannot be ejected (HOST_OFFLINE); XenServer keeps its record until host.destroy.
    return { detail: `${leaving.name} is offline; it leaves the aggregate but stays in XenServer's pool database until it is destroyed there`, skipped: true };
  }
  await s.agents.forHost(master).ejectHost({ hostUuid: leaving.uuid! }, callOptions(s));
  return { detail: `${leaving.name} was ejected from pool ${pool.uuid} (XenServer wipes and reboots it)` };
}

async function clearPool(s: StepContext): Promise<StepResult> {
  const leaving = hostRecord(s, leavingName(s));
  const agent = s.agents.forHost(leaving);
  const pool = await agent.getPoolInfo({}, callOptions(s));
  const skipped = pool.name === "";
  if (!skipped) await agent.clearPool({}, callOptions(s));
  return { detail: `pool ${pool.uuid} name cleared`, skipped };
}

async function releaseHost(s: StepContext): Promise<StepResult> {
  const store = s.ctx.store;
  const name = leavingName(s);
  store.transaction(() => {
    store.hosts.setMembership(name, null, null);
    store.hosts.setEnabled(name, false, `removed from aggregate ${s.op.aggregateId}`);
    store.hosts.setMaintenance(name, "NONE");
    const aggregate = store.aggregates.get(s.op.aggregateId!)!;
    const inPool = aggregate.members.filter((m) => m.state === "MEMBER" || m.state === "LEAVING");
    if (aggregate.masterHost === name || inPool.length === 0) {
      // The pool this host mastered is gone (it was the last one): the next AddHost founds a new one.
      store.aggregates.updatePool(aggregate.id, { masterHost: null, poolUuid: null }, nowIso());
    }
    if (aggregate.members.length === 0) {
      store.aggregates.updatePool(
        aggregate.id,
        { masterHost: null, poolUuid: null, ...(aggregate.azFromHost ? { availabilityZone: null, azFromHost: false } : {}) },
        nowIso(),
      );
    } else {
      store.aggregates.touch(aggregate.id, nowIso());
    }
  });
  return { detail: `${name} left aggregate ${s.op.aggregateId} and is disabled` };
}

/** How RemoveHost runs. */
export const removeHostHandler: OperationKindHandler = {
  plan(s) {
    const aggregate = aggregateOf(s);
    const others = otherMembers(s);
    if (others.length === 0) return ["clear-pool", "release-host"];
    if (aggregate.masterHost === leavingName(s)) return ["designate-new-master", "eject-host", "release-host"];
    return ["eject-host", "release-host"];
  },
  mutating: new Set(["designate-new-master", "eject-host", "clear-pool", "release-host"]),
  steps: { "designate-new-master": designateNewMaster, "eject-host": ejectHost, "clear-pool": clearPool, "release-host": releaseHost },
  succeeded(s) {
    recordEvent(s.ctx, { kind: "host.left", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} left aggregate ${s.op.aggregateId}` });
  },
  ended(s, outcome) {
    const host = s.ctx.store.hosts.get(s.op.host!);
    if (!outcome.changedPool && host?.aggregateId === s.op.aggregateId && host.membership === "LEAVING") {
      s.ctx.store.hosts.setMembership(host.name, s.op.aggregateId, s.op.params.priorMembership === "FAILED" ? "FAILED" : "MEMBER");
    }
  },
};
