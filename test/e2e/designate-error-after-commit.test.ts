/**
 * A master hand-over whose pool.designate_new_master answers an error after it had been committed
 * (found by the fault campaign: seeds 288000888 and 2941707595 left the record naming the old master
 * for good, with drift reported and never resolved). The step fails, as the answer says; once the pool
 * has its new master, the reconciler makes the record follow the pool (the master role is XenServer's
 * fact), and no drift is left.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { startProduct, type Product } from "./product-harness.js";

describe("designate_new_master answering an error after it took effect", () => {
  let p: Product;
  let id: bigint;
  beforeAll(async () => {
    p = await startProduct({ hosts: 3, baseAddress: "127.0.1.240" });
    id = (await p.api.aggregates.createAggregate({ name: "handover" })).id;
    for (const h of ["xs1", "xs2", "xs3"]) await p.addHost(id, h);
  }, 60_000);
  afterAll(async () => p?.close());

  it("the record follows the pool's new master after a hand-over whose answer was an error", async () => {
    p.sim.control.setFault("xs1", { method: "pool.designate_new_master", error: ["INTERNAL_ERROR", "after commit"], midway: true });
    const done = await p.waitOperation((await p.api.hosts.startMaintenance({ host: "xs1" })).id, 60_000);
    expect(done.state).toBe(OperationState.FAILED);
    // The pool did take a new master (the old one restarts as its slave after the fuse).
    const moved = await p.sim.control.waitFor((s) => {
      const master = s.hosts.find((h) => h.name === "xs1")!.master;
      return master !== "xs1" && s.hosts.find((h) => h.name === master)?.role === "master" && s.hosts.every((h) => h.toolstack === "up") ? master : undefined;
    }, 30_000);
    expect((await p.api.aggregates.getAggregate({ id })).pool?.masterHost).toBe("xs1");
    await p.controller!.reconciler.tick();
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool?.masterHost).toBe(moved);
    expect(agg.pool?.drift).toEqual([]);
    const { events } = await p.api.events.listEvents({ aggregateId: id, pageSize: 200 });
    expect(events.some((e) => e.kind === "pool.master-changed" && e.message.includes("the record follows the pool"))).toBe(true);
  }, 90_000);

  it("a designate refused before it did anything fails the step, and the recorded master stays", async () => {
    const master = (await p.api.aggregates.getAggregate({ id })).pool!.masterHost;
    p.sim.control.setFault(master, { method: "pool.designate_new_master", error: ["INTERNAL_ERROR", "refused"] });
    const done = await p.waitOperation((await p.api.hosts.startMaintenance({ host: master })).id, 60_000);
    expect(done.state).toBe(OperationState.FAILED);
    expect(done.error?.message).toContain("refused");
    expect(p.sim.control.state().hosts.find((h) => h.name === master)!.master).toBe(master);
    await p.controller!.reconciler.tick();
    const agg = await p.api.aggregates.getAggregate({ id });
    expect(agg.pool?.masterHost).toBe(master);
    expect(agg.pool?.drift).toEqual([]);
  }, 90_000);
});
