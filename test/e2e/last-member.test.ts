/**
 * Issue 15: removing the last live member of an aggregate whose FAILED former master is still
 * recorded. RemoveHost refuses it (remove the FAILED host first: its record is destroyed in the
 * pool); and a host in no aggregate that boots as the master of a pool with other members is made
 * standalone. The invariant checked against the simulator: a host in no aggregate is standalone.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { OperationKind, OperationState } from "../../gen/hostaggregates/v1/operation_pb.js";
import { expectRpcError } from "../support/rpc-errors.js";
import { clientFor } from "../simulator/helpers.js";
import { startProduct, type Product } from "./product-harness.js";

/** Slaves give up on a dead master quickly (nominal ms; × timeScale 0.005). */
const simulator = { masterLostGraceMs: 10_000, emergencyRetryMs: 10_000 };

/** The hosts of the pool a host is master of (simulator view); undefined when it is no master. */
function poolOf(p: Product, master: string): string[] | undefined {
  const h = p.sim.control.host(master);
  if (h.toolstack !== "up" || h.role !== "master") return undefined;
  return p.sim.control.state().pools.find((pl) => pl.master === master)?.hosts.slice().sort();
}

describe("the last live member and a FAILED former master", () => {
  let p: Product;
  beforeAll(async () => {
    p = await startProduct({ hosts: 4, baseAddress: "127.0.9.70", simulator });
  }, 60_000);
  afterAll(async () => p?.close());

  it("RemoveHost of the last live member is refused while a FAILED member is recorded; removed in order, every host ends standalone", async () => {
    const id = (await p.api.aggregates.createAggregate({ name: "last" })).id;
    for (const h of ["xs1", "xs2"]) await p.addHost(id, h);
    await p.sim.control.power("xs1", false);
    const recovery = await p.waitFor(async () => {
      const { operations } = await p.api.operations.listOperations({ aggregateId: id, pageSize: 100 });
      return operations.find((o) => o.kind === OperationKind.RECOVER_MASTER);
    }, 30_000, "a RECOVER_MASTER operation");
    expect((await p.waitOperation(recovery.id, 60_000)).state).toBe(OperationState.SUCCEEDED);
    expect((await p.api.aggregates.getAggregate({ id })).pool?.masterHost).toBe("xs2");

    await p.api.hosts.setHostEnabled({ name: "xs2", enabled: false });
    const refused = await expectRpcError(p.api.aggregates.removeHost({ aggregateId: id, host: "xs2" }), Code.FailedPrecondition);
    expect(refused.rawMessage).toMatch(/FAILED former master xs1 .*remove it first/);
    expect(refused.rawMessage).toContain(`aggctl aggregate-remove-host ${id} xs1`);

    // In order: the dead former master first (its record is destroyed in xs2's pool), then xs2.
    const gone = await p.waitOperation((await p.api.aggregates.removeHost({ aggregateId: id, host: "xs1" })).id, 60_000);
    expect(gone.state, gone.error?.message).toBe(OperationState.SUCCEEDED);
    expect(poolOf(p, "xs2")).toEqual(["xs2"]);
    const last = await p.waitOperation((await p.api.aggregates.removeHost({ aggregateId: id, host: "xs2" })).id, 60_000);
    expect(last.state, last.error?.message).toBe(OperationState.SUCCEEDED);
    expect((await p.api.aggregates.getAggregate({ id })).hosts).toEqual([]);

    // xs1 comes back standalone (its record is gone from the pool), and nobody follows it.
    await p.sim.control.power("xs1", true);
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs1" && h.toolstack === "up" && h.role === "master"), 20_000);
    await p.waitFor(async () => {
      await p.controller!.reconciler.tick();
      return poolOf(p, "xs1")?.length === 1 || undefined;
    }, 30_000, "xs1 standalone");
    expect(poolOf(p, "xs1")).toEqual(["xs1"]);
    expect(poolOf(p, "xs2")).toEqual(["xs2"]);

    // Both can found or join another aggregate.
    const next = (await p.api.aggregates.createAggregate({ name: "next" })).id;
    await p.addHost(next, "xs2");
    await p.addHost(next, "xs1");
    expect(poolOf(p, "xs2")).toEqual(["xs1", "xs2"]);
  }, 120_000);

  it("hosts in no aggregate that run one pool split in two are made standalone; a slave in no aggregate is reported", async () => {
    // Behind the controller's back: xs4 joins standalone xs3, then is promoted on its own (emergency transition).
    const xs4 = clientFor(p.sim, "xs4");
    await xs4.login("root", "sim-secret");
    await xs4.ok("pool.join", p.sim.control.host("xs3").address, "root", "sim-secret");
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs4" && h.toolstack === "up" && h.master === "xs3" && h.connected), 20_000);
    await p.waitFor(async () => {
      await p.controller!.reconciler.tick();
      const { events } = await p.api.events.listEvents({ pageSize: 1000 });
      return events.find((e) => e.kind === "host.not-standalone" && e.host === "xs4" && /slave/.test(e.message));
    }, 20_000, "xs4 reported as a slave in no aggregate");
    expect(poolOf(p, "xs3")).toEqual(["xs3", "xs4"]);

    const local = await xs4.call("session.slave_local_login_with_password", "root", "sim-secret");
    xs4.session = local.Value as string;
    await xs4.ok("pool.emergency_transition_to_master");
    await p.sim.control.waitFor((s) => s.hosts.find((h) => h.name === "xs4" && h.toolstack === "up" && h.role === "master"), 20_000);
    // Each is the master of a copy of the pool that lists the other: both are made standalone.
    await p.waitFor(async () => {
      await p.controller!.reconciler.tick();
      return (poolOf(p, "xs3")?.length === 1 && poolOf(p, "xs4")?.length === 1) || undefined;
    }, 30_000, "xs3 and xs4 standalone");
    const { events } = await p.api.events.listEvents({ pageSize: 1000 });
    const made = events.filter((e) => e.kind === "host.made-standalone");
    expect(made.map((e) => e.host).sort()).toEqual(["xs3", "xs4"]);
    expect(made.find((e) => e.host === "xs3")?.message).toMatch(/with xs4, which left it/);
    // Standalone: a join works again.
    const id = (await p.api.aggregates.createAggregate({ name: "after-split" })).id;
    await p.addHost(id, "xs3");
    await p.addHost(id, "xs4");
    expect(poolOf(p, "xs3")).toEqual(["xs3", "xs4"]);
  }, 120_000);
});
