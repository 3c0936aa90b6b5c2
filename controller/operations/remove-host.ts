/** RemoveHost: a master hands its role over first; members are ejected; the last host clears the pool. */
import { Refused } from "../engine/failures.js";
import type { OperationSpec, OperationView, StepSpec } from "../engine/step-spec.js";
import { abandonLeave, release } from "../model/lifecycle.js";
import { nowIso, type HostRecord } from "../model/records.js";
import { chooseMaster, masterCandidate } from "../pool/master-choice.js";
import { callOptions, hostRecord, memberOf, readPool } from "../pool/pool-view.js";

type Step = StepSpec<"REMOVE_HOST">;
type View = Pick<OperationView<"REMOVE_HOST">, "ctx" | "op">;

const aggregateOf = async (s: View) => (await s.ctx.store.aggregates.get(s.op.aggregateId!))!;
const leavingName = (s: Pick<View, "op">) => s.op.host!;

/**
 * The other hosts still in the pool: confirmed members and hosts whose own removal is queued
 * (LEAVING); not hosts whose AddHost has not run yet (JOINING) nor failed ones.
 */
const otherMembers = async (s: View): Promise<HostRecord[]> =>
  (await s.ctx.store.hosts.members(s.op.aggregateId!)).filter((h) => h.name !== leavingName(s) && (h.membership === "MEMBER" || h.membership === "LEAVING"));

const designateNewMaster: Step = {
  name: "designate-new-master",
  mutating: true,
  handsOverMaster: true,
  async run(s) {
    const leaving = await hostRecord(s, leavingName(s));
    const others = await otherMembers(s);
    let chosen = s.op.params.newMaster;
    if (!chosen) {
      // A retried or resumed step may find the role already handed over: adopt that master.
      const { pool: current } = await readPool(s, [leaving.name, ...others.map((h) => h.name)]);
      chosen = others.find((h) => h.uuid === current.masterUuid)?.name ?? chooseMaster(others.map((h) => masterCandidate(h)), { fallbackToAnyLive: true });
      if (!chosen) throw new Refused(`no other live member of aggregate ${s.op.aggregateId} can take over as pool master`);
      s.op.params.newMaster = chosen;
      await s.checkpoint(); // a resume must hand over to the same host
    }
    const next = await hostRecord(s, chosen);
    const { pool } = await readPool(s, [leaving.name, next.name]);
    if (pool.masterUuid !== next.uuid) await s.agents.forHost(leaving).designateNewMaster({ hostUuid: next.uuid! }, callOptions(s));
    await s.ctx.store.transaction(async () => {
      await s.ctx.store.aggregates.updatePool(s.op.aggregateId!, { masterHost: next.name }, nowIso());
      await s.ctx.store.events.append({ kind: "pool.master-changed", aggregateId: s.op.aggregateId, host: next.name, operationId: s.op.id, message: `${next.name} took over as pool master from ${leaving.name}` });
    });
    return { detail: `${next.name} is the new pool master`, skipped: pool.masterUuid === next.uuid };
  },
};

const ejectHost: Step = {
  name: "eject-host",
  mutating: true,
  async run(s) {
    const aggregate = await aggregateOf(s);
    const leaving = await hostRecord(s, leavingName(s));
    const master = await hostRecord(s, aggregate.masterHost!);
    if (master.name === leaving.name) throw new Refused(`${leaving.name} is still the pool master; it cannot be ejected`);
    const { pool } = await readPool(s, [master.name, ...(await otherMembers(s)).map((h) => h.name)]);
    const member = memberOf(pool, leaving.uuid);
    if (!member) return { detail: `${leaving.name} is not in pool ${pool.uuid} any more`, skipped: true };
    if (!member.live && s.op.params.priorMembership === "FAILED") {
      // A dead former master cannot be ejected (HOST_OFFLINE): forget it in the pool database instead.
      await s.agents.forHost(master).destroyHost({ hostUuid: leaving.uuid! }, callOptions(s));
      return { detail: `${leaving.name} is offline: its record was destroyed in pool ${pool.uuid} (host.destroy), so the pool matches the aggregate` };
    }
    await s.agents.forHost(master).ejectHost({ hostUuid: leaving.uuid! }, callOptions(s));
    return { detail: `${leaving.name} was ejected from pool ${pool.uuid} (XenServer wipes and reboots it)` };
  },
};

const clearPool: Step = {
  name: "clear-pool",
  mutating: true,
  async run(s) {
    const agent = s.agents.forHost(await hostRecord(s, leavingName(s)));
    const pool = await agent.getPoolInfo({}, callOptions(s));
    const skipped = pool.name === "";
    if (!skipped) await agent.clearPool({}, callOptions(s));
    return { detail: `pool ${pool.uuid} name cleared`, skipped };
  },
};

const releaseHost: Step = {
  name: "release-host",
  mutating: true,
  async run(s) {
    const store = s.ctx.store;
    const name = leavingName(s);
    const aggregateId = s.op.aggregateId!;
    await store.transaction(async () => {
      await store.hosts.apply(name, release(aggregateId));
      const aggregate = await aggregateOf(s);
      const inPool = aggregate.members.filter((m) => m.state === "MEMBER" || m.state === "LEAVING");
      if (aggregate.members.length === 0) {
        await store.aggregates.updatePool(aggregateId, { masterHost: null, poolUuid: null, ...(aggregate.azFromHost ? { availabilityZone: null, azFromHost: false } : {}) }, nowIso());
      } else if (aggregate.masterHost === name || inPool.length === 0) {
        // The pool this host mastered is gone (it was the last one): the next AddHost founds a new one.
        await store.aggregates.updatePool(aggregateId, { masterHost: null, poolUuid: null }, nowIso());
      } else {
        await store.aggregates.touch(aggregateId, nowIso());
      }
    });
    return { detail: `${name} left aggregate ${aggregateId} and is disabled` };
  },
};

/** How RemoveHost runs. */
export const removeHostSpec: OperationSpec<"REMOVE_HOST"> = {
  kind: "REMOVE_HOST",
  steps: [designateNewMaster, ejectHost, clearPool, releaseHost],
  async plan(s) {
    if ((await otherMembers(s)).length === 0) return [clearPool, releaseHost];
    if ((await aggregateOf(s)).masterHost === leavingName(s)) return [designateNewMaster, ejectHost, releaseHost];
    return [ejectHost, releaseHost];
  },
  failureBreaksPool: true,
  async succeeded(s) {
    await s.ctx.store.events.append({ kind: "host.left", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} left aggregate ${s.op.aggregateId}` });
  },
  async ended(s, outcome) {
    const host = await s.ctx.store.hosts.get(leavingName(s));
    if (!outcome.changedPool && host?.aggregateId === s.op.aggregateId && host.membership === "LEAVING") {
      await s.ctx.store.hosts.apply(host.name, abandonLeave(s.op.params.priorMembership));
    }
  },
};
