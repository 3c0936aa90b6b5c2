/** AddHost: the first host founds the pool (and becomes master); the others join it. */
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { Refused, RetryLater } from "../engine/failures.js";
import type { OperationSpec, OperationView, StepContext, StepSpec } from "../engine/step-spec.js";
import { abandonJoin, confirmMember } from "../model/lifecycle.js";
import { nowIso } from "../model/records.js";
import { callOptions, hostRecord, memberOf, readPool } from "../pool/pool-view.js";

type Step = StepSpec<"ADD_HOST">;
type View = Pick<OperationView<"ADD_HOST">, "ctx" | "op">;

const aggregateOf = async (s: View) => (await s.ctx.store.aggregates.get(s.op.aggregateId!))!;
const joiningName = (s: Pick<View, "op">) => s.op.host!;

/** The joining host's uuid (from its registration, or asked from its agent). */
async function joiningUuid(s: StepContext<"ADD_HOST">): Promise<string> {
  const host = await hostRecord(s, joiningName(s));
  if (host.uuid) return host.uuid;
  const info = await s.agents.forHost(host).getHostInfo({}, callOptions(s));
  return info.uuid;
}

const initPool: Step = {
  name: "init-pool",
  mutating: true,
  async run(s) {
    const aggregate = await aggregateOf(s);
    const host = await hostRecord(s, joiningName(s));
    const agent = s.agents.forHost(host);
    const info = await agent.getHostInfo({}, callOptions(s));
    const pool = await agent.getPoolInfo({}, callOptions(s));
    if (info.role !== HostRole.MASTER || pool.members.length > 1) {
      throw new Refused(`host "${host.name}" is already in a pool with ${pool.members.length} hosts (master ${pool.masterAddress}); eject it from that pool first`);
    }
    const already = pool.name === aggregate.name;
    const named = already ? pool : await agent.initPool({ name: aggregate.name }, callOptions(s));
    await s.ctx.store.transaction(async () => await s.ctx.store.aggregates.updatePool(aggregate.id, { masterHost: host.name, poolUuid: named.uuid }, nowIso()));
    return { detail: `${host.name} is the master of pool ${named.uuid} named "${aggregate.name}"`, skipped: already };
  },
};

const joinPool: Step = {
  name: "join-pool",
  mutating: true,
  async run(s) {
    const aggregate = await aggregateOf(s);
    if (!aggregate.masterHost) throw new Refused(`aggregate ${aggregate.id} has no pool master to join`);
    const master = await hostRecord(s, aggregate.masterHost);
    if (master.aggregateId !== aggregate.id) throw new Refused(`the recorded pool master ${master.name} is no longer in aggregate ${aggregate.id}; repair the aggregate`);
    const host = await hostRecord(s, joiningName(s));
    const uuid = await joiningUuid(s);
    const { pool } = await readPool(s, [master.name]);
    if (memberOf(pool, uuid)) return { detail: `${host.name} is already a member of pool ${pool.uuid}`, skipped: true };
    const force = ["true", "1", "yes"].includes((aggregate.metadata["join_force"] ?? "").toLowerCase());
    await s.agents.forHost(host).joinPool({ masterAddress: master.xapiAddress, force }, callOptions(s));
    return { detail: `${host.name} joined the pool of ${master.name} (${master.xapiAddress})${force ? " with join_force" : ""}` };
  },
};

const confirmMembership: Step = {
  name: "confirm-membership",
  mutating: false,
  async run(s) {
    const aggregate = await aggregateOf(s);
    const uuid = await joiningUuid(s);
    const { pool } = await readPool(s, [aggregate.masterHost!, joiningName(s)]);
    const member = memberOf(pool, uuid);
    if (!member) throw new RetryLater(`the pool master does not list ${joiningName(s)} (${uuid}) as a member`);
    if (!member.live) throw new RetryLater(`${joiningName(s)} is a member but not live yet`);
    return { detail: `the master lists ${joiningName(s)} as a live member of pool ${pool.uuid}` };
  },
};

const enableHost: Step = {
  name: "enable-host",
  mutating: true,
  async run(s) {
    const aggregate = await aggregateOf(s);
    const host = await hostRecord(s, joiningName(s));
    const master = await hostRecord(s, aggregate.masterHost!);
    const uuid = await joiningUuid(s);
    await s.agents.forHost(master).setHostEnabled({ hostUuid: uuid, enabled: true }, callOptions(s));
    await s.ctx.store.transaction(async () => {
      await s.ctx.store.hosts.apply(host.name, confirmMember());
      await s.ctx.store.aggregates.touch(aggregate.id, nowIso());
    });
    return { detail: `${host.name} is an enabled member` };
  },
};

/** How AddHost runs. */
export const addHostSpec: OperationSpec<"ADD_HOST"> = {
  kind: "ADD_HOST",
  steps: [initPool, joinPool, confirmMembership, enableHost],
  async plan(s) {
    const aggregate = await aggregateOf(s);
    const master = aggregate.masterHost ? await s.ctx.store.hosts.get(aggregate.masterHost) : undefined;
    const masterInPool = master?.aggregateId === aggregate.id && (master.membership === "MEMBER" || master.membership === "LEAVING");
    const founding = !masterInPool || aggregate.masterHost === joiningName(s);
    return [founding ? initPool : joinPool, confirmMembership, enableHost];
  },
  failureBreaksPool: true,
  async succeeded(s) {
    await s.ctx.store.events.append({ kind: "host.joined", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} joined aggregate ${s.op.aggregateId}` });
  },
  async ended(s, outcome) {
    const store = s.ctx.store;
    const host = await store.hosts.get(joiningName(s));
    if (outcome.changedPool || host?.aggregateId !== s.op.aggregateId || host.membership !== "JOINING") return;
    // Nothing happened to the pool: undo the recorded intent.
    await store.hosts.apply(host.name, abandonJoin());
    const aggregate = await aggregateOf(s);
    if (aggregate.members.length === 0 && aggregate.azFromHost) {
      await store.aggregates.updatePool(aggregate.id, { availabilityZone: null, azFromHost: false }, nowIso());
    }
  },
};
