/**
 * Issue 14 acceptance, three controller replicas (processes) on one PostgreSQL database:
 * - two replicas racing for one aggregate: exactly one runs its operations;
 * - the leader SIGSTOPped in the middle of a pool join, past its lease: another takes over and
 *   finishes; after SIGCONT the old leader makes no agent call (the agents log the calling replica of
 *   every change they accept) and no journal write for that aggregate;
 * - PostgreSQL restarted while idle and in the middle of an operation: the replicas reconnect and
 *   carry on, and nothing acknowledged is lost.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { OperationState, type Operation } from "../../gen/hostaggregates/v1/operation_pb.js";
import type { ApiClients } from "../../cli/api-clients.js";
import { readRealHosts } from "../../chaos/real-pool.js";
import { ReplicaCluster, type Replica } from "../../chaos/replica-cluster.js";
import { eventually } from "../support/eventually.js";
import { describeOnPostgres } from "../support/postgres.js";
import { waitForOperation } from "./product-harness.js";

/** An "accepted a change" line of an agent's log: the call and the replica that made it. */
interface AcceptedChange {
  time: string;
  call: string;
  replica: string;
}

describeOnPostgres("replicas: racing, a paused leader, a PostgreSQL restart", () => {
  let c: ReplicaCluster;
  beforeAll(async () => {
    c = await ReplicaCluster.start({ hosts: 6, baseAddress: "127.0.22.10", timeScale: 0.005, leaseTtlSeconds: 2, heartbeatSeconds: 2 });
  }, 60_000);
  afterAll(async () => c?.close());

  const finish = (id: string, api: ApiClients = c.api()): Promise<Operation> => waitForOperation(api, id, 60_000);
  const accepted = (): AcceptedChange[] =>
    Object.values(c.agents)
      .flatMap((a) => a.output().split("\n"))
      .filter((l) => l.includes('"accepted a change"'))
      .map((l) => JSON.parse(l) as AcceptedChange);
  /** The replicas whose log says they ran this operation. */
  const ranBy = (id: string) => c.replicas.filter((r) => r.output().split("\n").some((l) => l.includes('"running operation"') && l.includes(id))).map((r) => r.id);
  const poolOf = async (master: string) => {
    const view = (await readRealHosts(c.sim.hosts.filter((h) => h.name === master), "root", c.xapiPassword))[0]!.view;
    return view.kind === "master" ? view.hosts : [];
  };

  it("two replicas racing for one aggregate: exactly one runs its operations", async () => {
    const [r1, r2, r3] = c.replicas as [Replica, Replica, Replica];
    const { id: aggregateId } = await c.api([r1]).aggregates.createAggregate({ name: "race" });
    // The founding AddHost and two joins, accepted at once by the three replicas (none holds the lease yet).
    const founding = await c.api([r1]).aggregates.addHost({ aggregateId, host: "xs1" });
    const [j2, j3] = await Promise.all([c.api([r2]).aggregates.addHost({ aggregateId, host: "xs2" }), c.api([r3]).aggregates.addHost({ aggregateId, host: "xs3" })]);
    const ops = [founding, j2, j3];
    for (const op of ops) expect((await finish(op.id)).state).toBe(OperationState.SUCCEEDED);
    const runners = new Set(ops.flatMap((op) => ranBy(op.id)));
    expect([...runners]).toHaveLength(1);
    const [runner] = [...runners];
    expect(await c.leaseHolder(aggregateId)).toBe(runner);
    expect((await c.api().operations.getOperation({ id: j3.id })).state).toBe(OperationState.SUCCEEDED);
    expect((await poolOf("xs1")).sort()).toEqual(["xs1", "xs2", "xs3"]);
  }, 60_000);

  it("a leader paused past its lease makes no agent call and no journal write once it resumes", async () => {
    const api = c.api();
    const { id: aggregateId } = await api.aggregates.createAggregate({ name: "paused" });
    expect((await finish((await api.aggregates.addHost({ aggregateId, host: "xs4" })).id)).state).toBe(OperationState.SUCCEEDED);
    const leader = c.replica((await c.leaseHolder(aggregateId))!);
    const others = c.replicas.filter((r) => r !== leader);
    // Hold xs5's pool.join (about 3 s here) so that the leader is paused in the middle of the step.
    await c.sim.control.setFault("xs5", { method: "pool.join", delayMs: 600_000 });
    const { id } = await api.aggregates.addHost({ aggregateId, host: "xs5" });
    await eventually("pool.join received by xs5", async () => (await c.sim.control.host("xs5")).faults === 0, 30_000);
    leader.pause(true);
    try {
      const survivors = c.api(others);
      await eventually("another replica to take the lease", async () => {
        const holder = await c.leaseHolder(aggregateId);
        return others.some((r) => r.id === holder);
      }, 15_000);
      const done = await finish(id, survivors);
      expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
      expect(ranBy(id)).toContain(leader.id);
      expect(ranBy(id).filter((r) => r !== leader.id)).toHaveLength(1);
    } catch (err) {
      leader.pause(false);
      throw err;
    }
    const journal = await c.journal(id);
    const callsBefore = accepted().filter((a) => a.replica === leader.id);
    expect(callsBefore.length, "the leader's calls before the pause are logged").toBeGreaterThan(0);
    const resumedAt = new Date().toISOString();
    leader.pause(false);
    // It runs again: it has found its lease gone (its timers run first), and has answered calls since,
    // by which time the reply to its pool.join, long back, has been read.
    await eventually("the resumed leader to find its lease lost", () => leader.output().includes("lost a lease"), 15_000);
    for (let i = 0; i < 2; i++) await eventually("the resumed leader to answer", () => c.api([leader]).aggregates.getAggregate({ id: aggregateId }).then(() => true), 15_000);
    expect(accepted().filter((a) => a.replica === leader.id && a.time >= resumedAt)).toEqual([]);
    expect(await c.journal(id)).toEqual(journal);
    expect((await poolOf("xs4")).sort()).toEqual(["xs4", "xs5"]);
    const record = await api.aggregates.getAggregate({ id: aggregateId });
    expect([...record.hosts].sort()).toEqual(["xs4", "xs5"]);
  }, 90_000);

  it("PostgreSQL restarted while idle and mid-operation: the replicas carry on and nothing acknowledged is lost", async () => {
    const api = c.api();
    const { id: aggregateId } = await api.aggregates.createAggregate({ name: "restarted" });
    const acknowledged = [aggregateId];
    // Idle.
    await c.postgres.restart();
    for (const r of c.replicas) {
      await eventually(`${r.id} to serve after the restart`, () => c.api([r]).aggregates.getAggregate({ id: aggregateId }).then(() => true).catch(() => false), 20_000);
    }
    // Mid-operation: pool.join held, writes going on while the server restarts.
    const founding = await api.aggregates.addHost({ aggregateId, host: "xs6" });
    expect((await finish(founding.id)).state).toBe(OperationState.SUCCEEDED);
    const { id: other } = await api.aggregates.createAggregate({ name: "restarted-2" });
    acknowledged.push(other);
    await c.sim.control.setFault("xs3", { method: "pool.join", delayMs: 400_000 });
    // xs3 is in "race": take it out first so it can join here.
    const race = (await api.aggregates.listAggregates({})).aggregates.find((a) => a.name === "race")!;
    await api.hosts.setHostEnabled({ name: "xs3", enabled: false });
    expect((await finish((await api.aggregates.removeHost({ aggregateId: race.id, host: "xs3" })).id)).state).toBe(OperationState.SUCCEEDED);
    await eventually("xs3 alone again", async () => (await poolOf("xs3")).length === 1, 30_000);
    const join = await api.aggregates.addHost({ aggregateId, host: "xs3" });
    await eventually("pool.join received by xs3", async () => (await c.sim.control.host("xs3")).faults === 0, 30_000);
    let writing = true;
    const writes = (async () => {
      for (let i = 0; writing; i++) {
        const created = await api.aggregates.createAggregate({ name: `during-${i}` }).catch(() => undefined);
        if (created) acknowledged.push(created.id);
        else await new Promise((r) => setTimeout(r, 50)); // pace retries while the server is down
      }
    })();
    await c.postgres.restart();
    const done = await finish(join.id);
    writing = false;
    await writes;
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect((await poolOf("xs6")).sort()).toEqual(["xs3", "xs6"]);
    for (const r of c.replicas) {
      const seen = await c.api([r]).aggregates.listAggregates({ pageSize: 1000 });
      expect(acknowledged.filter((id) => !seen.aggregates.some((a) => a.id === id)), `acknowledged aggregates missing on ${r.id}`).toEqual([]);
    }
  }, 120_000);
});
