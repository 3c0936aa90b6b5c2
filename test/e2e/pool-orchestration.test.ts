/**
 * Issue 5 end to end: AddHost/RemoveHost change the real (simulated) pool through the agents.
 * Every assertion about the pool reads the simulator's state, i.e. what XenServer would report.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { MaintenanceState } from "../../gen/hostaggregates/v1/host_pb.js";
import { OperationState, StepState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { startProduct, type Product } from "./product-harness.js";

/** The simulator's pool (database) a host belongs to, with its member names. */
function poolOf(p: Product, host: string) {
  const state = p.sim.control.state();
  const h = state.hosts.find((x) => x.name === host)!;
  // The pool database of the master this host follows (a rebooting ejected host still carries its old pool uuid).
  const pool = state.pools.find((pl) => pl.master === h.master && pl.hosts.includes(host));
  return { host: h, members: [...(pool?.hosts ?? [])].sort(), master: pool?.master ?? undefined };
}

describe("pool orchestration", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 4, baseAddress: "127.0.1.10" });
  });
  afterAll(async () => p?.close());

  const standaloneAgain = (name: string) =>
    p.waitFor(async () => {
      const h = p.sim.control.host(name);
      return h.toolstack === "up" && h.role === "master" && poolOf(p, name).members.length === 1 && h.poolName === "" ? h : undefined;
    }, 20_000, `${name} back as a standalone host`);

  it("makes the first host the master of a pool named after the aggregate, then joins the others", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "pool-e2e" });
    const first = await p.addHost(agg.id, "xs1");
    expect(first.steps.map((s) => s.name)).toEqual(["init-pool", "confirm-membership", "enable-host"]);
    expect(poolOf(p, "xs1")).toMatchObject({ master: "xs1", members: ["xs1"], host: { poolName: "pool-e2e", role: "master" } });

    await p.addHost(agg.id, "xs2");
    await p.addHost(agg.id, "xs3");
    const pool = poolOf(p, "xs1");
    expect(pool.members).toEqual(["xs1", "xs2", "xs3"]);
    expect(pool.master).toBe("xs1");
    for (const name of ["xs2", "xs3"]) expect(p.sim.control.host(name)).toMatchObject({ role: "slave", master: "xs1", enabled: true, live: true });

    const after = await p.api.aggregates.getAggregate({ id: agg.id });
    expect(after.hosts).toEqual(["xs1", "xs2", "xs3"]);
    expect(after.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: "xs1", poolUuid: pool.host.poolUuid });
    for (const name of ["xs1", "xs2", "xs3"]) expect((await p.api.hosts.getHost({ name })).enabled).toBe(true);
  });

  it("refuses to remove an enabled host, then ejects a disabled slave which comes back standalone and disabled", async () => {
    const { aggregates } = await p.api.aggregates.listAggregates({});
    const id = aggregates.find((a) => a.name === "pool-e2e")!.id;
    await expectRpcError(p.api.aggregates.removeHost({ aggregateId: id, host: "xs3" }), Code.FailedPrecondition);
    await p.api.hosts.setHostEnabled({ name: "xs3", enabled: false });
    const op = await p.api.aggregates.removeHost({ aggregateId: id, host: "xs3" });
    const done = await p.waitOperation(op.id);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(done.steps.map((s) => s.name)).toEqual(["eject-host", "release-host"]);
    expect(poolOf(p, "xs1").members).toEqual(["xs1", "xs2"]);
    await standaloneAgain("xs3");
    const host = await p.api.hosts.getHost({ name: "xs3" });
    expect(host.enabled).toBe(false);
    expect(host.aggregateId).toBe(0n);
    expect((await p.api.aggregates.getAggregate({ id })).hosts).toEqual(["xs1", "xs2"]);
  });

  it("removing the master of a 3-host pool hands the role over first and leaves a 2-host pool", async () => {
    const { aggregates } = await p.api.aggregates.listAggregates({});
    const id = aggregates.find((a) => a.name === "pool-e2e")!.id;
    await p.addHost(id, "xs3");
    expect(poolOf(p, "xs1").members).toEqual(["xs1", "xs2", "xs3"]);
    await p.api.hosts.setHostEnabled({ name: "xs1", enabled: false });
    const op = await p.api.aggregates.removeHost({ aggregateId: id, host: "xs1" });
    const done = await p.waitOperation(op.id);
    expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    expect(done.steps.map((s) => s.name)).toEqual(["designate-new-master", "eject-host", "release-host"]);
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.hosts.sort()).toEqual(["xs2", "xs3"]);
    expect(["xs2", "xs3"]).toContain(agg.pool!.masterHost);
    const pool = poolOf(p, agg.pool!.masterHost);
    expect(pool.members).toEqual(["xs2", "xs3"]);
    expect(pool.master).toBe(agg.pool!.masterHost);
    await standaloneAgain("xs1");
  });

  it("removing the last host clears the pool name and empties the aggregate", async () => {
    const { aggregates } = await p.api.aggregates.listAggregates({});
    const agg = aggregates.find((a) => a.name === "pool-e2e")!;
    for (const name of [...agg.hosts].sort((a, b) => (a === agg.pool!.masterHost ? 1 : b === agg.pool!.masterHost ? -1 : 0))) {
      await p.api.hosts.setHostEnabled({ name, enabled: false });
      const done = await p.waitOperation((await p.api.aggregates.removeHost({ aggregateId: agg.id, host: name })).id);
      expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    }
    const last = agg.pool!.masterHost;
    expect(p.sim.control.host(last).poolName).toBe("");
    const after = await p.api.aggregates.getAggregate({ id: agg.id });
    expect(after.hosts).toEqual([]);
    expect(after.pool).toMatchObject({ state: PoolState.EMPTY, masterHost: "", poolUuid: "" });
    await p.api.aggregates.deleteAggregate({ id: agg.id });
  });

  it("a join refused by XenServer leaves the aggregate in ERROR with the XenAPI code; repair brings it back to ACTIVE", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "pool-refused" });
    for (const name of ["xs1", "xs2", "xs3", "xs4"]) {
      await p.waitFor(async () => (await p.api.hosts.getHost({ name })).aggregateId === 0n && p.sim.control.host(name).toolstack === "up", 20_000, `${name} free`);
    }
    await p.addHost(agg.id, "xs1");
    p.sim.control.addVms("xs4", { count: 1, memoryMiB: 512, powerState: "Running" });
    const op = await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs4" });
    const failed = await p.waitOperation(op.id);
    expect(failed.state).toBe(OperationState.FAILED);
    expect(failed.error).toMatchObject({ xapiCode: "JOINING_HOST_CANNOT_HAVE_RUNNING_VMS" });
    const broken = await p.api.aggregates.getAggregate({ id: agg.id });
    expect(broken.pool?.state).toBe(PoolState.ERROR);
    expect(broken.pool?.lastError).toMatchObject({ xapiCode: "JOINING_HOST_CANNOT_HAVE_RUNNING_VMS", operationId: op.id });
    expect(poolOf(p, "xs4").members).toEqual(["xs4"]);
    // No new work while in ERROR.
    await expectRpcError(p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs2" }), Code.FailedPrecondition);

    const repaired = await p.api.aggregates.repairAggregate({ id: agg.id });
    expect(repaired.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: "xs1" });
    expect(repaired.pool?.lastError).toBeUndefined();
    expect(repaired.hosts).toEqual(["xs1"]);
    expect((await p.api.hosts.getHost({ name: "xs4" })).aggregateId).toBe(0n);
    await p.addHost(agg.id, "xs2");
    expect(poolOf(p, "xs1").members).toEqual(["xs1", "xs2"]);
  });
});

describe("queued operations", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 4, baseAddress: "127.0.2.100" });
  });
  afterAll(async () => p?.close());

  it("removing the master and a slave back to back hands the role to a member that stays", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "queued" });
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(agg.id, h);
    for (const h of ["xs1", "xs2"]) await p.api.hosts.setHostEnabled({ name: h, enabled: false });
    const first = await p.api.aggregates.removeHost({ aggregateId: agg.id, host: "xs1" });
    const second = await p.api.aggregates.removeHost({ aggregateId: agg.id, host: "xs2" });
    for (const op of [first, second]) {
      const done = await p.waitOperation(op.id, 60_000);
      expect(done.state, done.error?.message).toBe(OperationState.SUCCEEDED);
    }
    const after = await p.api.aggregates.getAggregate({ id: agg.id });
    expect(after.hosts).toEqual(["xs3"]);
    expect(after.pool).toMatchObject({ state: PoolState.ACTIVE, masterHost: "xs3" });
    const state = p.sim.control.state();
    expect(state.pools.find((pl) => pl.master === "xs3")?.hosts).toEqual(["xs3"]);
  }, 90_000);

  it("cancelling a queued AddHost ends it at once and frees the host", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "cancel-queued" });
    await p.waitFor(async () => p.sim.control.host("xs1").toolstack === "up" && (await p.api.hosts.getHost({ name: "xs1" })).aggregateId === 0n, 30_000, "xs1 free");
    const running = await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs4" });
    const queued = await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs1" });
    const cancelled = await p.api.operations.cancelOperation({ id: queued.id });
    expect(cancelled.state).toBe(OperationState.CANCELLED);
    expect((await p.api.hosts.getHost({ name: "xs1" })).aggregateId).toBe(0n);
    expect((await p.waitOperation(running.id)).state).toBe(OperationState.SUCCEEDED);
    expect((await p.api.aggregates.getAggregate({ id: agg.id })).hosts).toEqual(["xs4"]);
  }, 60_000);

  it("refuses StopMaintenance while the aggregate is in ERROR", async () => {
    const agg = (await p.api.aggregates.listAggregates({})).aggregates.find((a) => a.name === "cancel-queued")!;
    await p.waitFor(async () => p.sim.control.host("xs1").toolstack === "up" && (await p.api.hosts.getHost({ name: "xs1" })).aggregateId === 0n, 30_000, "xs1 free");
    p.sim.control.addVms("xs1", { count: 1, memoryMiB: 256, powerState: "Running" });
    const failed = await p.waitOperation((await p.api.aggregates.addHost({ aggregateId: agg.id, host: "xs1" })).id);
    expect(failed.state).toBe(OperationState.FAILED);
    await p.api.hosts.setHostEnabled({ name: "xs4", enabled: false });
    await expectRpcError(p.api.hosts.stopMaintenance({ host: "xs4" }), Code.FailedPrecondition);
    expect((await p.api.aggregates.getAggregate({ id: agg.id })).pool?.state).toBe(PoolState.ERROR);
  }, 60_000);
});

describe("concurrent AddHost", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 11, baseAddress: "127.0.1.40" });
  });
  afterAll(async () => p?.close());

  it("adds a host to exactly one of two aggregates when both ask at once", async () => {
    const a = await p.api.aggregates.createAggregate({ name: "race-a" });
    const b = await p.api.aggregates.createAggregate({ name: "race-b" });
    const results = await Promise.allSettled([
      p.api.aggregates.addHost({ aggregateId: a.id, host: "xs11" }),
      p.api.aggregates.addHost({ aggregateId: b.id, host: "xs11" }),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(Code[(lost[0]!.reason as ConnectError).code]).toBe("AlreadyExists");
    const op = (won[0] as PromiseFulfilledResult<{ id: string }>).value;
    expect((await p.waitOperation(op.id)).state).toBe(OperationState.SUCCEEDED);
    const host = await p.api.hosts.getHost({ name: "xs11" });
    expect([a.id, b.id]).toContain(host.aggregateId);
  });

  it("ten AddHost calls at once to one empty aggregate give one master, nine slaves and no ERROR", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "ten" });
    const names = Array.from({ length: 10 }, (_, i) => `xs${i + 1}`);
    const ops = await Promise.all(names.map((host) => p.api.aggregates.addHost({ aggregateId: agg.id, host })));
    const done = await Promise.all(ops.map((op) => p.waitOperation(op.id, 60_000)));
    for (const d of done) expect(d.state, d.error?.message).toBe(OperationState.SUCCEEDED);
    const final = await p.api.aggregates.getAggregate({ id: agg.id });
    expect(final.pool?.state).toBe(PoolState.ACTIVE);
    expect(final.hosts.sort()).toEqual([...names].sort());
    const pool = poolOf(p, final.pool!.masterHost);
    expect(pool.members).toEqual([...names].sort());
    expect(pool.master).toBe(final.pool!.masterHost);
    const slaves = names.filter((n) => p.sim.control.host(n).role === "slave");
    expect(slaves).toHaveLength(9);
  }, 90_000);
});

describe("an operation that ends before its first step", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.2.140" });
  });
  afterAll(async () => p?.close());

  it("queued behind a failure, a StartMaintenance refused for ERROR gives the host back: no ENTERING left without an operation", async () => {
    const agg = await p.api.aggregates.createAggregate({ name: "early-end" });
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(agg.id, h);
    // The eject fails at the master after a while, so the maintenance is accepted before the aggregate is in ERROR.
    p.sim.control.setFault("xs1", { method: "pool.eject", error: ["INTERNAL_ERROR", "scripted eject failure"], delayMs: 60_000 });
    await p.api.hosts.setHostEnabled({ name: "xs2", enabled: false });
    const removal = await p.api.aggregates.removeHost({ aggregateId: agg.id, host: "xs2" });
    const maintenance = await p.api.hosts.startMaintenance({ host: "xs3" });
    expect((await p.api.hosts.getHost({ name: "xs3" })).maintenance).toBe(MaintenanceState.ENTERING);
    expect((await p.waitOperation(removal.id, 60_000)).state).toBe(OperationState.FAILED);
    const refused = await p.waitOperation(maintenance.id, 60_000);
    expect(refused.state).toBe(OperationState.FAILED);
    expect(refused.error?.message).toMatch(/ERROR/);
    expect(refused.steps.filter((s) => s.state !== StepState.PENDING)).toEqual([]);
    const xs3 = await p.api.hosts.getHost({ name: "xs3" });
    expect(xs3).toMatchObject({ maintenance: MaintenanceState.NONE, enabled: true });
    // After a repair the host takes maintenance again (it is not "already being evacuated").
    expect((await p.api.aggregates.repairAggregate({ id: agg.id })).pool?.state).toBe(PoolState.ACTIVE);
    const again = await p.waitOperation((await p.api.hosts.startMaintenance({ host: "xs3" })).id, 60_000);
    expect(again.state, again.error?.message).toBe(OperationState.SUCCEEDED);
  }, 90_000);
});
