/** AddHost: the first host founds the pool (and becomes master); the others join it. */
import { Code } from "@connectrpc/connect";
import { HostRole } from "../../gen/hostaggregates/agent/v1/pool_agent_pb.js";
import { nowIso } from "../model/records.js";
import { StepFailure } from "../engine/failures.js";
import { callOptions, hostRecord, memberOf, readPool } from "../pool/pool-view.js";
import { recordEvent } from "../store/record-event.js";
import type { OperationKindHandler, StepContext, StepResult } from "../engine/step-spec.js";

const aggregateOf = (s: Pick<StepContext, "ctx" | "op">) => s.ctx.store.aggregates.get(s.op.aggregateId!)!;
const joiningName = (s: Pick<StepContext, "op">) => s.op.host!;

/** The joining host's uuid (from its registration, or asked from its agent). */
async function joiningUuid(s: StepContext): Promise<string> {
  const host = hostRecord(s, joiningName(s));
  if (host.uuid) return host.uuid;
  const info = await s.agents.forHost(host).getHostInfo({}, callOptions(s));
  return info.uuid;
}

async function initPool(s: StepContext): Promise<StepResult> {
  const aggregate = aggregateOf(s);
  const host = hostRecord(s, joiningName(s));
  const agent = s.agents.forHost(host);
  const info = await agent.getHostInfo({}, callOptions(s));
  const pool = await agent.getPoolInfo({}, callOptions(s));
  if (info.role !== HostRole.MASTER || pool.members.length > 1) {
    throw new StepFailure(
      `host "${host.name}" is already in a pool with ${pool.members.length} hosts (master ${pool.masterAddress}); eject it from that pool first`,
    );
  }
  const already = pool.name === aggregate.name;
  const named = already ? pool : await agent.initPool({ name: aggregate.name }, callOptions(s));
  s.ctx.store.transaction(() => {
    s.ctx.store.aggregates.updatePool(aggregate.id, { masterHost: host.name, poolUuid: named.uuid }, nowIso());
  });
  return { detail: `${host.name} is the master of pool ${named.uuid} named "${aggregate.name}"`, skipped: already };
}

async function joinPool(s: StepContext): Promise<StepResult> {
  const aggregate = aggregateOf(s);
  if (!aggregate.masterHost) throw new StepFailure(`aggregate ${aggregate.id} has no pool master to join`);
  const master = hostRecord(s, aggregate.masterHost);
  if (master.aggregateId !== aggregate.id) throw new StepFailure(`the recorded pool master ${master.name} is no longer in aggregate ${aggregate.id}; repair the aggregate`);
  const host = hostRecord(s, joiningName(s));
  const uuid = await joiningUuid(s);
  const { pool } = await readPool(s, [master.name]);
  if (memberOf(pool, uuid)) return { detail: `${host.name} is already a member of pool ${pool.uuid}`, skipped: true };
  const force = ["true", "1", "yes"].includes((aggregate.metadata["join_force"] ?? "").toLowerCase());
  await s.agents.forHost(host).joinPool({ masterAddress: master.xapiAddress, force }, callOptions(s));
  return { detail: `${host.name} joined the pool of ${master.name} (${master.xapiAddress})${force ? " with join_force" : ""}` };
}

async function confirmMembership(s: StepContext): Promise<StepResult> {
  const aggregate = aggregateOf(s);
  const uuid = await joiningUuid(s);
  const { pool } = await readPool(s, [aggregate.masterHost!, joiningName(s)]);
  const member = memberOf(pool, uuid);
  if (!member) throw new StepFailure(`the pool master does not list ${joiningName(s)} (${uuid}) as a member`, Code.Unavailable);
  if (!member.live) throw new StepFailure(`${joiningName(s)} is a member but not live yet`, Code.Unavailable);
  return { detail: `the master lists ${joiningName(s)} as a live member of pool ${pool.uuid}` };
}

async function enableHost(s: StepContext): Promise<StepResult> {
  const aggregate = aggregateOf(s);
  const host = hostRecord(s, joiningName(s));
  const master = hostRecord(s, aggregate.masterHost!);
  const uuid = await joiningUuid(s);
  await s.agents.forHost(master).setHostEnabled({ hostUuid: uuid, enabled: true }, callOptions(s));
  s.ctx.store.transaction(() => {
    s.ctx.store.hosts.setMembership(host.name, aggregate.id, "MEMBER");
    s.ctx.store.hosts.setEnabled(host.name, true);
    s.ctx.store.aggregates.touch(aggregate.id, nowIso());
  });
  return { detail: `${host.name} is an enabled member` };
}

/** How AddHost runs. */
export const addHostHandler: OperationKindHandler = {
  plan(s) {
    const aggregate = aggregateOf(s);
    const master = aggregate.masterHost ? s.ctx.store.hosts.get(aggregate.masterHost) : undefined;
    const masterInPool = master?.aggregateId === aggregate.id && (master.membership === "MEMBER" || master.membership === "LEAVING");
    const founding = !masterInPool || aggregate.masterHost === joiningName(s);
    return founding ? ["init-pool", "confirm-membership", "enable-host"] : ["join-pool", "confirm-membership", "enable-host"];
  },
  mutating: new Set(["init-pool", "join-pool", "enable-host"]),
  steps: { "init-pool": initPool, "join-pool": joinPool, "confirm-membership": confirmMembership, "enable-host": enableHost },
  succeeded(s) {
    recordEvent(s.ctx, { kind: "host.joined", aggregateId: s.op.aggregateId, host: s.op.host, operationId: s.op.id, message: `${s.op.host} joined aggregate ${s.op.aggregateId}` });
  },
  ended(s, outcome) {
    const store = s.ctx.store;
    const host = store.hosts.get(s.op.host!);
    if (!outcome.changedPool && host?.aggregateId === s.op.aggregateId && host.membership === "JOINING") {
      // Nothing happened to the pool: undo the recorded intent.
      store.hosts.setMembership(host.name, null, null);
      const aggregate = store.aggregates.get(s.op.aggregateId!)!;
      if (aggregate.members.length === 0 && aggregate.azFromHost) {
        store.aggregates.updatePool(aggregate.id, { availabilityZone: null, azFromHost: false }, nowIso());
      }
    }
  },
};
