/**
 * Issue 5 crash safety: the controller (a separate process) is SIGKILLed at every step of an add
 * and of a remove — right after a step acted but before it was recorded ("during"), and right
 * after it was recorded ("after") — then restarted. Every operation must end, and the record must
 * match the simulator's real pool.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PoolState } from "../../gen/hostaggregates/v1/aggregate_pb.js";
import { OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { startProduct, type Product } from "./product-harness.js";

describe("crash safety of AddHost and RemoveHost", () => {
  let p: Product;
  let aggregateId: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.1.70", controllerProcess: true });
    aggregateId = (await p.api.aggregates.createAggregate({ name: "crashy" })).id;
  }, 60_000);
  afterAll(async () => p?.close());

  /** Runs one call with the controller set to kill itself at a step, restarts it, and returns the ended operation. */
  async function crashAt(spec: string, start: () => Promise<string>) {
    const cp = p.controllerProcess!;
    await cp.kill("SIGTERM");
    await cp.start({ AGGREGATES_TEST_CRASH: spec });
    const id = await start();
    await p.killedByHook(id, spec);
    await cp.start();
    const op = await p.waitOperation(id, 60_000);
    expect(op.state, `${spec}: ${op.error?.message}`).toBe(OperationState.SUCCEEDED);
    return op;
  }

  /** The record equals the simulator's pool: same members, same master, ACTIVE (or EMPTY). */
  async function expectRecordMatchesPool() {
    const agg = await p.api.aggregates.getAggregate({ id: aggregateId });
    const state = p.sim.control.state();
    if (agg.hosts.length === 0) {
      expect(agg.pool?.state).toBe(PoolState.EMPTY);
      return;
    }
    expect(agg.pool?.state).toBe(PoolState.ACTIVE);
    const pool = state.pools.find((pl) => pl.master === agg.pool!.masterHost && pl.hosts.includes(agg.pool!.masterHost))!;
    expect(pool, `no simulated pool mastered by ${agg.pool!.masterHost}`).toBeDefined();
    expect([...pool.hosts].sort()).toEqual([...agg.hosts].sort());
    expect(pool.name).toBe("crashy");
    for (const name of agg.hosts) expect((await p.api.hosts.getHost({ name })).enabled, `${name} enabled`).toBe(true);
  }

  const standalone = (name: string) =>
    p.waitFor(async () => {
      const h = p.sim.control.host(name);
      const free = (await p.api.hosts.getHost({ name })).aggregateId === 0n;
      return h.toolstack === "up" && h.role === "master" && free ? h : undefined;
    }, 30_000, `${name} standalone again`);

  async function remove(host: string, crash?: string) {
    await p.api.hosts.setHostEnabled({ name: host, enabled: false });
    const start = async () => (await p.api.aggregates.removeHost({ aggregateId, host })).id;
    if (crash) await crashAt(crash, start);
    else expect((await p.waitOperation(await start(), 60_000)).state).toBe(OperationState.SUCCEEDED);
  }

  for (const phase of ["during", "after"] as const) {
    for (const k of [1, 2, 3]) {
      it(`founding AddHost survives a kill ${phase} step ${k}`, async () => {
        await crashAt(`ADD_HOST:${phase}:${k}`, async () => (await p.api.aggregates.addHost({ aggregateId, host: "xs1" })).id);
        await expectRecordMatchesPool();
        await remove("xs1");
        await standalone("xs1");
        await expectRecordMatchesPool();
      }, 90_000);
    }
  }

  it("sets up a two-host pool for the joining and ejecting cases", async () => {
    await p.addHost(aggregateId, "xs1");
    await p.addHost(aggregateId, "xs2");
    await expectRecordMatchesPool();
  }, 60_000);

  it("a join cancelled while pool.join runs, then a kill before the step is recorded: the step finishes after the restart and the host stays a member", async () => {
    const cp = p.controllerProcess!;
    await cp.kill("SIGTERM");
    await cp.start({ AGGREGATES_TEST_CRASH: "ADD_HOST:during:1" });
    // pool.join goes to the joining host: hold it so the cancellation lands while the step runs.
    p.sim.control.setFault("xs3", { method: "pool.join", delayMs: 600_000 }); // nominal: about 3 s at this time scale
    const { id } = await p.api.aggregates.addHost({ aggregateId, host: "xs3" });
    await p.waitFor(async () => (p.sim.control.host("xs3").faults === 0 ? true : undefined), 30_000, "pool.join received by xs3");
    await p.api.operations.cancelOperation({ id });
    await p.killedByHook(id, "ADD_HOST:during:1");
    await cp.start();
    const op = await p.waitOperation(id, 60_000);
    // pool.join was sent: cancelling now cannot undo it, so the operation finishes rather than dropping the host.
    expect(op.cancelRequested).toBe(true);
    expect(op.state, op.error?.message).toBe(OperationState.SUCCEEDED);
    expect((await p.api.hosts.getHost({ name: "xs3" })).aggregateId).toBe(aggregateId);
    await expectRecordMatchesPool();
    await remove("xs3");
    await standalone("xs3");
  }, 120_000);

  for (const phase of ["during", "after"] as const) {
    for (const k of [1, 2, 3]) {
      it(`joining AddHost and slave RemoveHost survive a kill ${phase} step ${k}`, async () => {
        await crashAt(`ADD_HOST:${phase}:${k}`, async () => (await p.api.aggregates.addHost({ aggregateId, host: "xs3" })).id);
        await expectRecordMatchesPool();
        if (k <= 2) await remove("xs3", `REMOVE_HOST:${phase}:${k}`);
        else await remove("xs3");
        await standalone("xs3");
        await expectRecordMatchesPool();
      }, 120_000);
    }
  }

  for (const phase of ["during", "after"] as const) {
    for (const k of [1, 2, 3]) {
      it(`master RemoveHost survives a kill ${phase} step ${k}`, async () => {
        for (const name of ["xs1", "xs2", "xs3"]) {
          if ((await p.api.hosts.getHost({ name })).aggregateId !== 0n) continue;
          await standalone(name);
          await p.addHost(aggregateId, name);
        }
        const before = await p.api.aggregates.getAggregate({ id: aggregateId });
        const master = before.pool!.masterHost;
        await remove(master, `REMOVE_HOST:${phase}:${k}`);
        const after = await p.api.aggregates.getAggregate({ id: aggregateId });
        expect(after.hosts).not.toContain(master);
        expect(after.pool?.masterHost).not.toBe(master);
        await standalone(master);
        await expectRecordMatchesPool();
      }, 120_000);
    }
  }
});
